"""The administrator's course commands: import a course's content from a file and export it back."""

from __future__ import annotations

import json

from click.testing import CliRunner
from flask.cli import ScriptInfo

from lti_tool.course_cli import course_group
from lti_tool.services.content import DEMO_PACK


def run(tool, *args):
    return CliRunner().invoke(course_group, list(args), obj=ScriptInfo(create_app=lambda: tool.app))


def test_admin_imports_a_course_pack_for_a_launched_course_and_exports_it_back_identically(sandbox, tool, tmp_path):
    sandbox.launch("teacher")
    imported = run(tool, "import", str(DEMO_PACK), "--context", "math-7")
    assert imported.exit_code == 0, imported.output
    assert "16 skills, 31 activities" in imported.output

    exported = run(tool, "export", "--context", "math-7")
    assert exported.exit_code == 0, exported.output
    assert exported.stdout == DEMO_PACK.read_text(encoding="utf-8")

    out = tmp_path / "skills.csv"
    written = run(tool, "export", "--context", "math-7", "--platform", tool.platform.issuer,
                  "--client-id", "pathways-sandbox", "--out", str(out))
    assert written.exit_code == 0, written.output
    assert out.read_text(encoding="utf-8").startswith("Parent ID number,ID number,Short name")


def test_admin_is_told_to_launch_the_course_first_and_sees_every_problem_of_a_bad_pack(sandbox, tool, tmp_path):
    missing = run(tool, "import", str(DEMO_PACK), "--context", "math-7")
    assert missing.exit_code != 0
    assert "No course with the context id 'math-7'" in missing.output and "launches it" in missing.output

    sandbox.launch("teacher")
    document = json.loads(DEMO_PACK.read_text(encoding="utf-8"))
    document["activities"][0]["url"] = 7
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document), encoding="utf-8")
    refused = run(tool, "import", str(bad), "--context", "math-7")
    assert refused.exit_code != 0
    assert "(url): should be text or null" in refused.output
    assert run(tool, "export", "--context", "math-7").exit_code != 0  # nothing was imported


def test_author_is_warned_when_a_skill_has_fewer_than_ten_distinct_questions(sandbox, tool, tmp_path):
    from tests.learning.test_coursepack import small_pack

    sandbox.launch("teacher")
    path = tmp_path / "small.json"
    path.write_text(json.dumps(small_pack()), encoding="utf-8")
    imported = run(tool, "import", str(path), "--context", "math-7")
    assert imported.exit_code == 0, imported.output
    assert "Warning: The skill “Equivalent fractions” ('equiv') has" in imported.output and "fewer than 10" in imported.output
    demo = run(tool, "import", str(DEMO_PACK), "--context", "math-7")
    assert "Warning" not in demo.output
