"""Count the instructions of a launch's three tool requests with callgrind (steadier than CPU time on a shared VM).

Usage: valgrind --tool=callgrind --collect-atstart=no \\
           python bench/launch_callgrind.py [--launches 30] [--warmup 20] [--within module:function ...] [--no-steps]

Sets up as bench/launch_profile.py does (SQLite, the demo pack imported, warm-up launches), then runs the
launches once per pass, collecting only during one step each pass (login, the id_token POST, the plan page),
and dumps callgrind's counts after each; it prints the instructions per launch of each. Each --within (e.g.
lti_tool.services.plan:plan_for) adds a pass that counts only that function's calls, to split a step. Needs a
C compiler and valgrind's headers (the client requests are built into a small library).
"""

from __future__ import annotations

import argparse
import ctypes
import functools
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
void cg_start(void) { CALLGRIND_START_INSTRUMENTATION; }
"""


def marks_library(folder: str) -> ctypes.CDLL:
    """Build and load the valgrind client requests (they do nothing when the script runs without valgrind)."""
    source, library = Path(folder, "marks.c"), Path(folder, "marks.so")
    source.write_text(MARKS)
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    return ctypes.CDLL(str(library))


class Counter:
    """Collects only while a call with the label of this pass runs (`now`; None collects nothing)."""

    def __init__(self, marks: ctypes.CDLL) -> None:
        self.marks = marks
        self.now: str | None = None

    def __call__(self, label: str, call, *args, **kwargs):
        on = self.now == label
        if on:
            self.marks.cg_toggle()
        try:
            return call(*args, **kwargs)
        finally:
            if on:
                self.marks.cg_toggle()

    def within(self, targets: list[str], namespaces: tuple[dict, ...] = ()) -> None:
        """Count each module:function (or module:Class.method) under its own label, for a pass of its own.

        `namespaces` are more dicts that may hold a function by a name of their own (the Jinja environment's globals
        and filters: a template calls `student_map_boxes` from there, not from its module); it is replaced there too.
        """
        for target in targets:
            module_name, dotted = target.split(":")
            owner = importlib.import_module(module_name)
            *path, name = dotted.split(".")
            for part in path:  # a method: module:Class.method
                owner = getattr(owner, part)
            inner = getattr(owner, name)
            wrapper = self._wrapped(target, inner)
            # A method is replaced on its class; a function in every module that holds it under its name.
            for holder in [owner] if path else list(sys.modules.values()):
                if getattr(holder, name, None) is inner:
                    setattr(holder, name, wrapper)
            for namespace in namespaces:
                for key, value in list(namespace.items()):
                    if value is inner:
                        namespace[key] = wrapper

    def _wrapped(self, label: str, inner):
        def wrapper(*args, **kwargs):  # a plain function, so that a method still gets its instance
            return self(label, inner, *args, **kwargs)

        # With the wrapped function's attributes: Jinja reads `jinja_pass_arg` (pass_context and the like) there.
        return functools.update_wrapper(wrapper, inner)


def count_passes(counter: Counter, labels: list[str], run, times: int) -> None:
    """For each label, call run(n) for n in range(times) collecting only under that label, then dump the counts."""
    for label in labels:
        counter.now = label
        for n in range(times):
            run(n)
        counter.now = None
        counter.marks.cg_dump(label.encode())


def print_dumps(pattern: str, per: int) -> None:
    """Print each dump's instructions divided by `per` (the requests or launches of a pass), in millions."""
    for path in sorted(glob.glob(pattern), key=os.path.getmtime):
        lines = Path(path).read_text().splitlines()
        trigger = next((line.split("Request:")[-1].strip() for line in lines if line.startswith("desc: Trigger")), "?")
        totals = next((int(line.split()[1]) for line in lines if line.startswith(("totals:", "summary:"))), 0)
        print(f"  {trigger:<60} {totals / per / 1e6:8.3f} M  ({path})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--within", action="append", default=[], help="module:function: a pass counting only its calls")
    parser.add_argument("--no-steps", action="store_true", help="only the --within passes")
    parser.add_argument("--dumps", default="callgrind.out.{pid}.*", help="the dumps (callgrind's default names)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        marks = marks_library(folder)
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
        # What is counted now: a step's tool requests ("login", "launch", "page"), or a function's calls (--within).
        counter = Counter(marks)
        launcher._tool = lambda step, call: counter(step, call)
        counter.within(args.within, (app.jinja_env.globals, app.jinja_env.filters))
        count_passes(counter, ([] if args.no_steps else list(lp.STEPS)) + args.within,
                     lambda n: launcher.launch(lp.STUDENTS[n % len(lp.STUDENTS)]), args.launches)
    print(f"instructions per launch, {args.launches} launches a pass")
    print_dumps(args.dumps.format(pid=os.getpid()), args.launches)
    return 0


if __name__ == "__main__":
    sys.exit(main())
