"""README's two commands stay true: CI runs the same test command the README gives."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest"
DEMO_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/pathways demo"


def test_readme_gives_both_commands():
    readme = (ROOT / "README.md").read_text()
    assert TEST_COMMAND in readme
    assert DEMO_COMMAND in readme


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert TEST_COMMAND.replace("pip install -e", "pip install -q -e") in ci


def test_every_setting_is_documented_in_the_example_env():
    from lti_tool.settings import DEFAULTS

    example = (ROOT / "config" / "pathways.example.env").read_text()
    internal = {"TESTING", "DEBUG"}
    missing = [key for key in DEFAULTS if key not in internal and f"PATHWAYS_{key}" not in example]
    assert not missing, f"document these in config/pathways.example.env: {missing}"
