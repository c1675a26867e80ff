"""The wheel an operator builds from a clone (docs/operations.md: `pip wheel --no-deps -w dist .`) carries
everything Pathways reads at run time and nothing the clone no longer has, and builds without warnings (a
setuptools deprecation today is a build that fails on a later setuptools)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
NOT_SOURCE = shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "instance", "__pycache__", "site")


def build_wheel(clone: Path, out: Path) -> tuple[set[str], str]:
    """Build the wheel as the operations guide says; return the wheel's file names and pip's output."""
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), "."], cwd=clone,
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    (wheel,) = out.glob("pathways_lti-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(archive.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    assert "License-Expression: MIT" in metadata
    return names, built.stdout + built.stderr


def test_the_wheel_builds_cleanly_with_what_pathways_reads_and_nothing_removed_since(tmp_path):
    clone = tmp_path / "clone"
    shutil.copytree(ROOT, clone, ignore=NOT_SOURCE)
    names, output = build_wheel(clone, tmp_path / "first")
    assert "deprecated" not in output.lower(), output
    for packaged in ("lti_tool/templates/base.html", "lti_tool/templates/student/home.html",
                     "lti_tool/static/css/pathways.css", "lti_tool/translations/es/LC_MESSAGES/messages.mo",
                     "lti_tool/migrations/env.py", "lti_tool/migrations/versions/0001_initial_schema.py",
                     "lti_tool/demo/math7.json", "lti_tool/learning/cold_start_prior.json"):
        assert packaged in names, packaged
    # The docs start an operator from config/: a wheel user has no clone, so the wheel carries it (`pathways example`).
    for source in clone.glob("config/*"):
        assert f"lti_tool/{source.relative_to(clone).as_posix()}" in names, source.name
    for source in [*clone.glob("lti_tool/migrations/versions/*.py"), *clone.glob("templates/**/*.html")]:
        relative = source.relative_to(clone).as_posix()
        assert (relative if relative.startswith("lti_tool/") else f"lti_tool/{relative}") in names, relative

    # A later pull removes a template and a migration; the next build in the same clone must not ship them.
    (clone / "templates" / "lti" / "unsupported.html").unlink()
    (clone / "lti_tool" / "migrations" / "versions" / "0027_course_content_refit_request.py").unlink()
    names, _ = build_wheel(clone, tmp_path / "second")
    assert "lti_tool/templates/lti/unsupported.html" not in names
    assert "lti_tool/migrations/versions/0027_course_content_refit_request.py" not in names
    assert "lti_tool/templates/base.html" in names


def test_a_build_of_unreleased_changes_never_carries_a_released_version():
    # An operator upgrades with `pip install --no-deps pathways_lti-….whl`: a wheel with the installed version is
    # "already installed" to pip, which keeps the old code and exits 0, and `pathways db upgrade` then finds nothing to
    # do. So while CHANGELOG.md has unreleased entries the version is a later .devN one.
    version = Version(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])
    changelog = (ROOT / "CHANGELOG.md").read_text()
    released = [Version(v) for v in re.findall(r"^## (\d+\.\d+\.\d+)\s*$", changelog, re.M)]
    unreleased = changelog.split("\n## Unreleased\n", 1)[-1].split("\n## ", 1)[0] if "\n## Unreleased\n" in changelog else ""
    if re.search(r"^- ", unreleased, re.M):
        assert version.is_devrelease and all(version > r for r in released), (version, released)
    else:
        assert released and version == max(released), (version, released)


def test_a_wheel_user_gets_the_example_configuration_the_docs_start_from(tmp_path):
    # Unpacked as pip installs it, run from an empty folder with no source tree on the path: what the docs tell an
    # operator to copy (config/pathways.example.env, the systemd units) comes out of the installed package.
    clone = tmp_path / "clone"
    shutil.copytree(ROOT, clone, ignore=NOT_SOURCE)
    build_wheel(clone, tmp_path / "dist")
    (wheel,) = (tmp_path / "dist").glob("pathways_lti-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    shutil.rmtree(clone)
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PATHWAYS_", "PYTHON"))} | {"PYTHONPATH": str(site)}

    def pathways(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", "from lti_tool.cli import main; main()", *args], cwd=empty,
                              env=env, capture_output=True, text=True, timeout=120)

    listing = pathways("example")
    assert listing.returncode == 0, listing.stderr
    for name in ("pathways.example.env", "pathways-web.service", "pathways-worker.service", "Procfile",
                 "platforms.example.json"):
        assert name in listing.stdout.split(), listing.stdout
        printed = pathways("example", f"config/{name}")
        assert printed.returncode == 0 and printed.stdout == (ROOT / "config" / name).read_text(), name
    # The env file will hold the secret key and the units' state folder learners' files: the examples keep both
    # from other users of the host, and the help says how, as the docs do.
    assert "chmod 600 /etc/pathways.env" in pathways("example", "--help").stdout
    assert "chmod 600 /etc/pathways.env" in pathways("example", "pathways.example.env").stdout
    for unit in ("pathways-web.service", "pathways-worker.service"):
        assert "\nStateDirectoryMode=0700\n" in pathways("example", unit).stdout, unit
    unknown = pathways("example", "nginx.conf")
    assert unknown.returncode == 2 and "No example named 'nginx.conf'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
