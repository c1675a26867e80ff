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


def test_admin_names_the_course_of_a_link_launched_without_a_context_as_the_commands_show_it(sandbox, tool):
    # Such a course's context id is "\x1flink:<link id>" (a control character, so no LMS course has it); a shell
    # makes typing one awkward, so the commands take it as they print it, and "link:L1" names only an LMS course.
    from lti_tool.privacy_cli import privacy_group, shown_id
    from tests.support import CLAIM
    from tests.test_privacy_cli import _user
    from tests.test_privacy_cli import run as run_privacy

    page = sandbox.launch("teacher", claim_overrides={CLAIM + "context": None, CLAIM + "resource_link": {"id": "L1"}})
    assert page.status_code == 200, page.text[:300]
    shown = "\\x1flink:L1"
    assert run(tool, "import", str(DEMO_PACK), "--context", "link:L1").exit_code != 0
    imported = run(tool, "import", str(DEMO_PACK), "--context", shown)
    assert imported.exit_code == 0, imported.output
    assert f"into {shown}: 16 skills" in imported.output
    assert run(tool, "export", "--context", shown).stdout == DEMO_PACK.read_text(encoding="utf-8")
    exported = run_privacy(tool, privacy_group, "export", *_user(tool, "teacher"), "--context", shown)
    assert exported.exit_code == 0, exported.output
    assert '"context_id": "\\u001flink:L1"' in exported.output
    assert shown_id("\x1flink:L1") == shown


def test_a_context_id_in_two_deployments_lists_each_one_as_options_a_shell_reads_as_written(sandbox, tool):
    # A deployment id (and a client id) is the platform's choice, any characters: the options the refusal offers to
    # copy are quoted for the shell, so a pasted "$(…)" or ";" stays part of the value instead of becoming a command.
    import shlex

    from lti_tool.privacy_cli import audit_group
    from tests.support import add_sandbox_deployment
    from tests.test_privacy_cli import run as run_privacy

    sandbox.launch("teacher")
    odd = "d2;$(touch owned)"
    add_sandbox_deployment(tool, odd)
    assert sandbox.launch("teacher").status_code == 200
    for refused in (run(tool, "export", "--context", "math-7"),
                    CliRunner().invoke(audit_group, ["list", "--course", "math-7"],
                                       obj=ScriptInfo(create_app=lambda: tool.app))):
        assert refused.exit_code != 0
        offered = refused.output.split("say which one with: ", 1)[1].strip().split("; --platform ")
        assert len(offered) == 2, refused.output
        options = [shlex.split(("" if n == 0 else "--platform ") + place) for n, place in enumerate(offered)]
        assert {o[o.index("--deployment-id") + 1] for o in options} == {"sandbox-deployment-1", odd}
        assert all(o[o.index("--platform") + 1] == tool.platform.issuer for o in options)
    assert run_privacy(tool, audit_group, "list", "--course", "math-7", "--deployment-id", odd).exit_code == 0
