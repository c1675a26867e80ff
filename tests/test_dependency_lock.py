"""requirements.lock pins every runtime dependency at a version pyproject.toml allows, each with hashes."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _locked() -> dict[str, tuple[str, int]]:
    """Return each locked package's version and how many hashes it carries."""
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    entries = re.findall(r"^([A-Za-z0-9._-]+)==([^\s\\]+)((?:\s*\\\s*--hash=sha256:[0-9a-f]{64})+)", text, re.M)
    return {canonicalize_name(name): (version, hashes.count("--hash=")) for name, version, hashes in entries}


def test_every_runtime_dependency_is_locked_at_an_allowed_version_with_hashes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    locked = _locked()
    for line in project["dependencies"]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is not in requirements.lock: re-run the pip-compile command there"
        version, hashes = locked[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements.lock pins {requirement.name}=={version}, which pyproject.toml's {line!r} excludes")
        assert hashes >= 1


def test_the_lock_holds_no_release_below_the_advisory_bounds():
    # The bounds pyproject.toml sets for advisories also hold for what the lock pulls in indirectly.
    locked = _locked()
    for name, floor in {"werkzeug": "3.1.4", "jinja2": "3.1.6", "urllib3": "2.5.0", "idna": "3.7"}.items():
        assert Requirement(f"{name}>={floor}").specifier.contains(locked[name][0])


# Releases that lack something Pathways uses, although older lower bounds let them in: `pip install pathways-lti`
# (or -e '.[test]', as CI does) resolves within pyproject.toml's bounds, and a machine that already has such a
# release keeps it. Found by installing every lower bound and running the tests on it.
TOO_OLD = {
    "flask-migrate": ("4.0.1", "`pathways db check`: Flask-Migrate's check command came in 4.0.2"),
    "sqlalchemy": ("2.0.19", "an ORM INSERT … ON CONFLICT DO NOTHING RETURNING (insert_if_missing): launches fail"),
}


def test_the_lower_bounds_let_in_no_release_without_what_pathways_uses():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    bounds = {canonicalize_name(Requirement(line).name): Requirement(line) for line in project["dependencies"]}
    for name, (release, lacks) in TOO_OLD.items():
        assert not bounds[name].specifier.contains(release), f"{bounds[name]} lets in {name} {release}, without {lacks}"


# The same for what only the tests use (pyproject's `test` extra).
TOO_OLD_FOR_TESTS = {
    "babel": ("2.15.0", "babel.messages.frontend.parse_mapping_cfg (tests/web/test_i18n.py): it came in Babel 2.16"),
}


def test_the_test_extra_lets_in_no_release_without_what_the_tests_use():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    bounds = {canonicalize_name(Requirement(line).name): Requirement(line)
              for line in project["optional-dependencies"]["test"]}
    for name, (release, lacks) in TOO_OLD_FOR_TESTS.items():
        assert name in bounds, f"the test extra does not bound {name}, and so lets in {name} {release}, without {lacks}"
        assert not bounds[name].specifier.contains(release), f"{bounds[name]} lets in {name} {release}, without {lacks}"


def test_ci_names_the_installed_releases_that_differ_from_the_lock(tmp_path):
    # .ci/run prints this before the tests, so a test that a new release turns red shows the release in the log.
    import subprocess
    import sys
    from importlib.metadata import version

    lock = tmp_path / "requirements.lock"
    lock.write_text(f"flask==0.0.1 \\\n    --hash=sha256:{'0' * 64}\n    # via pathways-lti (pyproject.toml)\n"
                    f"pytest=={version('pytest')}\nno-such-dist-here==1.0\n", encoding="utf-8")
    shown = subprocess.run([sys.executable, str(ROOT / ".ci" / "lock_drift.py"), str(lock)],
                           capture_output=True, text=True, check=True).stdout
    assert f"flask: lock 0.0.1, installed {version('flask')}" in shown
    assert "no-such-dist-here: lock 1.0, installed not installed" in shown
    assert "pytest" not in shown
