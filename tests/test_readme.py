"""README and docs/ stay true: the commands they give are the ones CI runs, their links and pictures exist,
and the deploy steps use what the package ships."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TEST_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest"
DEMO_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/pathways demo"
CHROMIUM_COMMAND = "sudo apt-get install -y chromium chromium-driver"
# Debian and Ubuntu split ensurepip out of python3: there `python3 -m venv` fails on a fresh machine without it.
VENV_COMMAND = "sudo apt-get install -y python3-venv"


def _links(markdown: str) -> list[str]:
    """Relative link and image targets in a Markdown text, without #anchors."""
    targets = re.findall(r"\]\(([^)\s]+)\)", markdown)
    return [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


def test_readme_gives_both_commands():
    readme = (ROOT / "README.md").read_text()
    assert TEST_COMMAND in readme
    assert DEMO_COMMAND in readme
    assert CHROMIUM_COMMAND in readme  # how to run the browser tests instead of skipping them
    assert VENV_COMMAND in readme


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert TEST_COMMAND.replace("pip install -e", "pip install -q -e") in ci
    assert "wheel_smoke.py\" demo" in ci and "wheel_smoke.py\" serve" in ci
    assert "mkdocs build --strict" in ci
    assert "npm" not in ci  # axe-core is vendored; the tests need no Node


def test_readme_stays_short_and_its_links_and_pictures_exist():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) < 8_000, "move details into docs/"
    for target in _links(readme):
        assert (ROOT / target).is_file(), f"README links to a missing file: {target}"
    assert "docs/img/student-plan.png" in readme and "docs/img/class-view.png" in readme


def test_every_docs_page_is_in_the_mkdocs_nav_and_its_pictures_exist():
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in DOCS.rglob("*.md"):
        name = page.relative_to(DOCS).as_posix()
        assert f": {name}" in nav, f"add {name} to the nav in mkdocs.yml"
        for target in _links(page.read_text()):
            if target.endswith(".png"):
                assert (page.parent / target).is_file(), f"{name} shows a missing picture: {target}"


def test_changelog_links_work_in_the_clone_and_in_the_docs_site():
    # docs/changelog.md is a symbolic link to CHANGELOG.md, so each relative link is read from both folders: one that
    # works from the top of the clone only fails `mkdocs build --strict`, the last step of CI.
    for target in _links((ROOT / "CHANGELOG.md").read_text()):
        assert (ROOT / target).exists() and (DOCS / target).exists(), f"CHANGELOG.md links to {target}"


def test_docs_give_the_commands_the_code_has():
    development = (DOCS / "development.md").read_text()
    assert TEST_COMMAND in development and CHROMIUM_COMMAND in development and VENV_COMMAND in development
    screenshots = (ROOT / "tests" / "browser" / "test_docs_screenshots.py").read_text()
    assert 'os.environ.get("PATHWAYS_SCREENSHOTS")' in screenshots
    assert "PATHWAYS_SCREENSHOTS=docs/img .venv/bin/python -m pytest tests/browser/test_docs_screenshots.py" \
        in development
    operations = (DOCS / "operations.md").read_text()
    assert "pathways serve" in operations and "gunicorn -c config/" not in operations
    for unit in ("pathways-web.service", "Procfile"):
        assert "gunicorn -c config/" not in (ROOT / "config" / unit).read_text()


def test_the_systemd_units_keep_the_instance_folder_where_they_may_write():
    # ProtectSystem=strict makes everything read-only but the unit's writable paths; the default instance folder,
    # ./instance in WorkingDirectory, is not one of them, and evidence uploads would fail there (pathways doctor
    # says so). Environment= is read before EnvironmentFile=, so /etc/pathways.env may still move it.
    for unit in ("pathways-web.service", "pathways-worker.service"):
        lines = [line.split("=", 1) for line in (ROOT / "config" / unit).read_text().splitlines()
                 if "=" in line and not line.startswith("#")]
        settings: dict[str, list[str]] = {}
        for key, value in lines:
            settings.setdefault(key, []).append(value)
        assert settings["ProtectSystem"] == ["strict"], unit
        environment = dict(v.split("=", 1) for value in settings.get("Environment", []) for v in value.split())
        instance = Path(settings["WorkingDirectory"][0],
                        environment.get("PATHWAYS_INSTANCE_PATH", "instance"))
        writable = [Path(p) for value in settings.get("ReadWritePaths", []) for p in value.split()]
        writable += [Path("/var/lib", d) for value in settings.get("StateDirectory", []) for d in value.split()]
        assert any(instance == w or w in instance.parents for w in writable), f"{unit}: {instance} is read-only"
        assert settings.get("StateDirectory") == ["pathways"], unit  # systemd makes /var/lib/pathways for User=


def test_every_setting_is_documented_in_the_example_env():
    from lti_tool.settings import DEFAULTS

    example = (ROOT / "config" / "pathways.example.env").read_text()
    internal = {"TESTING", "DEBUG"}
    missing = [key for key in DEFAULTS if key not in internal and f"PATHWAYS_{key}" not in example]
    assert not missing, f"document these in config/pathways.example.env: {missing}"


def test_both_course_pack_docs_give_the_loaders_defaults_and_describe_item_templates():
    import json

    from lti_tool.learning.coursepack import DEFAULT_RETENTION, DEFAULT_THRESHOLDS, EVIDENCE_RULES, LEVELS

    defaults = json.dumps({"thresholds": {level: DEFAULT_THRESHOLDS[level] for level in LEVELS},
                           "review_spacing": True})
    items = sum(len(activity.get("items", [])) for activity in
                json.loads((ROOT / "lti_tool" / "demo" / "math7.json").read_text(encoding="utf-8"))["activities"])
    for doc in (DOCS / "course-pack-format.md", ROOT / "lti_tool" / "demo" / "COURSEPACK.md"):
        text = doc.read_text(encoding="utf-8")
        assert f'"mastery": {defaults}' in text, f"{doc.name}: the default thresholds are {defaults}"
        for rule, value in EVIDENCE_RULES.items():
            assert f"| `{rule}` | `{value}` |" in text, f"{doc.name}: mastery.evidence.{rule} defaults to {value}"
        assert f"`desired_retention` (default `{DEFAULT_RETENTION}`" in text, doc.name
        assert "### Item templates" in text and "`parameters`" in text and "`constraints`" in text, doc.name
        for stated in re.findall(r"(\d+) items\b", text):
            assert int(stated) == items, f"{doc.name} says {stated} items; math7.json has {items}"


def test_every_setting_is_in_the_operations_settings_table():
    from lti_tool.settings import DEFAULTS

    operations = (DOCS / "operations.md").read_text()
    table = "\n".join(line for line in operations.splitlines() if line.startswith("| `PATHWAYS_"))
    internal = {"TESTING", "DEBUG"}
    missing = [key for key in DEFAULTS if key not in internal
               and f"`PATHWAYS_{key}`" not in table and f"`_{key}`" not in table]
    assert not missing, f"add these to the settings table in docs/operations.md: {missing}"
    # What the code does: db upgrade makes the first signing key; an open /metrics on a real host is refused.
    assert "run `pathways keys rotate` once after `pathways db upgrade`" not in operations
    assert "optionally `PATHWAYS_METRICS_TOKEN`" not in operations


def _commands(group, path: tuple[str, ...] = ("pathways",)):
    """Every command the `pathways` script has, as (its words, the command)."""
    import click

    context = click.Context(group, info_name=path[-1])
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def test_the_operations_commands_table_gives_every_command_and_option_the_code_has():
    import click

    from lti_tool.cli import main

    operations = (DOCS / "operations.md").read_text()
    section = operations.split("## Commands\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `pathways ")]
    # Flask's and Flask-Migrate's own commands are named (db upgrade, run, routes, shell); their options and the other
    # migration commands are theirs to document.
    theirs = {("pathways", "run"), ("pathways", "routes"), ("pathways", "shell")}
    missing = []
    for words, command in _commands(main):
        if words[1] == "db" and words[2] != "upgrade":
            continue
        name = " ".join(words)
        row = next((r for r in rows if f"`{name} " in r or f"`{name}`" in r), None)
        if row is None:
            missing.append(name)
            continue
        if words in theirs or words[1] == "db":
            continue
        for param in command.params:
            if isinstance(param, click.Option):
                if not any(opt in row for opt in param.opts if opt.startswith("--")):
                    missing.append(f"{name} {param.opts[0]}")
            elif param.human_readable_name.upper() not in row and param.name.upper() not in row:
                missing.append(f"{name} {param.human_readable_name.upper()}")
    assert not missing, f"add these to the Commands table in docs/operations.md: {missing}"
    for option in ("--env-file", "--version"):
        assert option in section
