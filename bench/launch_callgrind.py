"""Count the instructions of a launch's three tool requests with callgrind (steadier than CPU time on a shared VM).

Usage: valgrind --tool=callgrind --collect-atstart=no \\
           python bench/launch_callgrind.py [--launches 30] [--warmup 20] [--within module:function]

Sets up as bench/launch_profile.py does (SQLite, the demo pack imported, warm-up launches), then runs the
launches three times over, collecting only during one step each time (login, the id_token POST, the plan
page) and dumping callgrind's counts after each pass; it prints the instructions per request of each step.
With --within, only the time inside that function (e.g. lti_tool.lti.launch:validate_launch) is counted, to
split a step. Needs a C compiler and valgrind's headers (the client requests are built into a small library).
"""

from __future__ import annotations

import argparse
import ctypes
import glob
import importlib
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import launch_profile as lp  # noqa: E402 - bench/ is on the path above

MARKS = r"""
#include <valgrind/callgrind.h>
void cg_toggle(void) { CALLGRIND_TOGGLE_COLLECT; }
void cg_dump(const char *name) { CALLGRIND_DUMP_STATS_AT(name); }
"""


def _marks(folder: str) -> ctypes.CDLL:
    source, library = Path(folder, "marks.c"), Path(folder, "marks.so")
    source.write_text(MARKS)
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    return ctypes.CDLL(str(library))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--within", default=None, help="module:function; count only inside it")
    parser.add_argument("--dumps", default="callgrind.out.{pid}.*", help="the dumps (callgrind's default names)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        marks = _marks(folder)
        platform = lp.start_sandbox()
        app = lp.build_tool(platform, folder, None, None)
        launcher = lp.Launcher(app, platform)
        launcher.launch("teacher", page=False)
        with app.app_context():
            import sqlalchemy as sa

            from lti_tool.extensions import db
            from lti_tool.models import Course
            from lti_tool.services.content import demo_pack_data, import_pack

            import_pack(
                db.session.scalars(sa.select(Course.id)).one(),
                demo_pack_data(),
                now=datetime.now(UTC).replace(tzinfo=None),
            )
        for n in range(args.warmup):
            launcher.launch(lp.STUDENTS[n % len(lp.STUDENTS)])
        active = {"step": None}
        counting = active if args.within is None else {"step": "never"}
        if args.within:
            module_name, name = args.within.split(":")
            module = importlib.import_module(module_name)
            inner = getattr(module, name)

            def within(*a, **k):
                on = active["step"] is not None
                if on:
                    marks.cg_toggle()
                try:
                    return inner(*a, **k)
                finally:
                    if on:
                        marks.cg_toggle()

            setattr(module, name, within)
            # Modules that imported the name directly see the wrapper too.
            for other in list(sys.modules.values()):
                if getattr(other, name, None) is inner and other is not module:
                    setattr(other, name, within)

        def tool(step, call):
            on = active["step"] == step and counting["step"] is not None
            if on:
                marks.cg_toggle()
            try:
                return call()
            finally:
                if on:
                    marks.cg_toggle()

        launcher._tool = tool
        for step in lp.STEPS:
            active["step"] = step
            for n in range(args.launches):
                launcher.launch(lp.STUDENTS[n % len(lp.STUDENTS)])
            active["step"] = None
            marks.cg_dump(step.encode())
    print(f"instructions per request, {args.launches} launches" + (f", within {args.within}" if args.within else ""))
    for path in sorted(glob.glob(args.dumps.format(pid=os.getpid())), key=os.path.getmtime):
        lines = Path(path).read_text().splitlines()
        trigger = next((line.rsplit(":", 1)[1].strip() for line in lines if line.startswith("desc: Trigger:")), "?")
        totals = next((int(line.split()[1]) for line in lines if line.startswith(("totals:", "summary:"))), 0)
        print(f"  {trigger:<40} {totals / args.launches / 1e6:8.3f} M  ({path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
