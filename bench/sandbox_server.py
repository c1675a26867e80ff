"""Serve one sandbox LMS (lti_tool.sandbox) as its own process, with one tool registered.

Usage: python bench/sandbox_server.py --port P --tool-base-url URL --client-id C --deployment-id D
       [--key-file PEM] [--host 127.0.0.1] [--students N] [--teachers T] [--placement RESOURCE_ID]
       [--page-size P]

The sandbox keeps its state (pending launches, login hints) in process memory, so it cannot live inside a
multi-worker gunicorn; bench/launch.py runs one of these per tool under test. The tool is registered with
login URL TOOL/lti/login, redirect and target link URI TOOL/lti/launch, and JWKS TOOL/lti/jwks.
`GET /launch/<sub>` answers with a 302 to the tool's login initiation URL; `GET /` answers 200.

The course is the demo course (a teacher, a TA, students student-1 .. student-5). `--students N` enrols
students up to student-N ("Student N"), `--teachers T` instructors up to teacher-T ("Teacher T"; the first
is the demo's "teacher"), for load tests such as bench/load.py. `--placement ID` gives the course's link the
custom parameter pathways_placement=ID, as a Deep Linking return would, so launches open a Pathways placement
whose grades go to the LMS gradebook. `--page-size P` sets how many members (or line items, scores) a page of
the platform's services holds (default 100).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    # Run as a plain script from anywhere without installing the package.
    sys.path.insert(0, str(REPO))

from werkzeug.serving import run_simple  # noqa: E402 - after the path above, with the package imports

from lti_tool.sandbox import SandboxPlatform, create_sandbox_app  # noqa: E402 - needs the path above
from lti_tool.sandbox.platform import DEMO_STUDENTS  # noqa: E402 - needs the path above


def build_platform(
    port: int,
    tool_base_url: str,
    client_id: str,
    deployment_id: str,
    key_pem: bytes | None = None,
    *,
    students: int = 0,
    teachers: int = 0,
    placement: str | None = None,
) -> SandboxPlatform:
    """Return a seeded sandbox at http://127.0.0.1:PORT with the tool at tool_base_url registered."""
    platform = SandboxPlatform(base_url=f"http://127.0.0.1:{port}", key_pem=key_pem)
    platform.seed_demo()
    add_people(platform, students=students, teachers=teachers)
    if placement:
        platform.add_resource_link("pathways-home", "Pathways", context_id="math-7",
                                   custom={"pathways_placement": placement})
    tool = tool_base_url.rstrip("/")
    platform.register_tool(
        client_id=client_id,
        deployment_id=deployment_id,
        login_url=tool + "/lti/login",
        redirect_uris=[tool + "/lti/launch"],
        jwks_url=tool + "/lti/jwks",
        target_link_uri=tool + "/lti/launch",
    )
    return platform


def add_people(platform: SandboxPlatform, *, students: int, teachers: int) -> None:
    """Enrol students student-6 .. student-N and teachers teacher-2 .. teacher-T in the demo course."""
    for number in range(len(DEMO_STUDENTS) + 1, students + 1):
        platform.add_user(f"student-{number}", roles=["Learner"], name=f"Student {number}",
                          given_name="Student", family_name=str(number), context_id="math-7")
    for number in range(2, teachers + 1):
        platform.add_user(f"teacher-{number}", roles=["Instructor"], name=f"Teacher {number}",
                          given_name="Teacher", family_name=str(number), context_id="math-7")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--tool-base-url", required=True, help="e.g. http://127.0.0.1:8001")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--deployment-id", required=True)
    parser.add_argument("--key-file", type=Path, default=None, help="PEM RSA private key (default: a new one)")
    parser.add_argument("--students", type=int, default=0, help="enrol students up to student-N (default: the 5)")
    parser.add_argument("--teachers", type=int, default=0, help="enrol teachers up to teacher-T (default: 1)")
    parser.add_argument("--placement", default=None, help="the link's pathways_placement custom parameter")
    parser.add_argument("--page-size", type=int, default=100, help="members per NRPS page (default: 100)")
    parser.add_argument("--verbose", action="store_true", help="log every request (werkzeug access log)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Build the sandbox and serve it until interrupted."""
    args = parse_args(argv)
    key_pem = args.key_file.read_bytes() if args.key_file else None
    platform = build_platform(args.port, args.tool_base_url, args.client_id, args.deployment_id, key_pem,
                              students=args.students, teachers=args.teachers, placement=args.placement)
    platform.page_size = args.page_size
    if not args.verbose:
        # Thousands of access-log lines per run would only cost CPU the benchmark is measuring.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"sandbox LMS {platform.issuer} serving tool {args.tool_base_url}", flush=True)
    run_simple(args.host, args.port, create_sandbox_app(platform), threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
