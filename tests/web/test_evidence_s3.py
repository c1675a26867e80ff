"""Evidence files in an S3-compatible bucket (PATHWAYS_EVIDENCE_STORAGE=s3): a real S3 HTTP server on 127.0.0.1
(moto's server mode) stands in for AWS or MinIO. Files still reach people only through Pathways; the store failing
gives plain 503 pages, never a 500, and loses nothing a student wrote."""

from __future__ import annotations

import base64
import os
import secrets
import socket

import pytest

from tests.support import SandboxActions, submit_form
from tests.web.test_agency import _open, _setup_course
from tests.web.test_evidence_files import ANDROID_FILM, _rows, _send, assert_ranges_served, long_film, ranged, tiny_png

moto_server = pytest.importorskip("moto.server", reason="the test extra installs moto (S3 server mode)")
boto3 = pytest.importorskip("boto3")

PREFIX = "pathways/"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class S3Server:
    """moto's S3 on a fixed loopback port, which a test can stop and start again (its buckets live on)."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = None

    def start(self) -> None:
        self._server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def client(self):
        return boto3.session.Session().client("s3", endpoint_url=self.url, region_name="us-east-1",
                                              aws_access_key_id="test", aws_secret_access_key="test")

    def objects(self, bucket: str) -> dict[str, bytes]:
        s3 = self.client()
        listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
        return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


@pytest.fixture
def s3():
    server = S3Server()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def bucket(s3) -> str:
    name = f"evidence-{secrets.token_hex(4)}"
    s3.client().create_bucket(Bucket=name)
    return name


def _s3_tool(make_tool, s3: S3Server, bucket: str, **more):
    return make_tool(EVIDENCE_STORAGE="s3", S3_BUCKET=bucket, S3_ENDPOINT_URL=s3.url, S3_REGION="us-east-1",
                     S3_PREFIX=PREFIX, S3_ACCESS_KEY_ID="test", S3_SECRET_ACCESS_KEY="test", S3_TIMEOUT_SECONDS=3,
                     **more)


def test_on_s3_a_file_is_uploaded_shown_to_the_teacher_exported_and_deleted_with_the_student(make_tool, s3, bucket):
    tool = _s3_tool(make_tool, s3, bucket)
    sandbox = SandboxActions(tool)
    teacher = _setup_course(sandbox)
    student = sandbox.launch("student")
    photo = tiny_png(4, 4)
    sent = _send(_open(student, tool, "Show what I know"), filename="wall.png", body=photo, text="Fraction wall")
    assert "Sent to your teacher" in sent.text
    (row,) = _rows(tool)
    # In the bucket under the prefix, named by the random key only; nothing on the server's disk.
    stored = s3.objects(bucket)
    assert stored == {f"{PREFIX}{row.file_key[:2]}/{row.file_key}": photo}
    assert not os.path.exists(os.path.join(tool.app.instance_path, "evidence"))

    queue = _open(teacher, tool, "Evidence to review")
    assert f"/evidence/{row.id}/file" in queue.text
    # The teacher's page never points at the bucket: the file comes through Pathways, which checks who asks.
    assert s3.url not in queue.text and bucket not in queue.text
    opened = _open(teacher, tool, f"evidence/{row.id}/file")
    assert opened.status_code == 200 and opened.content == photo
    assert opened.headers["Content-Type"] == "image/png"
    assert opened.headers["Content-Disposition"] == 'inline; filename="wall.png"'
    refused = _open(sandbox.launch("student-2"), tool, f"evidence/{row.id}/file")
    assert refused.status_code == 404 and photo not in refused.content

    exported = _open(student, tool, "privacy/my-data.json").json()
    (evidence,) = exported["courses"][0]["evidence"]
    assert base64.b64decode(evidence["file"]["content_base64"]) == photo

    privacy = _open(teacher, tool, "privacy/")
    confirm = _open(privacy, tool, f"privacy/students/{row.person_id}/delete")
    done = submit_form(confirm, f"/privacy/students/{row.person_id}/delete", confirm="yes")
    assert "Deleted the data of Priya Shah" in done.text
    assert _rows(tool) == [] and s3.objects(bucket) == {}


def test_on_s3_deleting_the_course_removes_every_object_of_it(make_tool, s3, bucket):
    tool = _s3_tool(make_tool, s3, bucket)
    sandbox = SandboxActions(tool)
    teacher = _setup_course(sandbox)
    _send(_open(sandbox.launch("student"), tool, "Show what I know"), filename="a.png", body=tiny_png())
    _send(_open(sandbox.launch("student-2"), tool, "Show what I know"), filename="film.mp4", body=ANDROID_FILM)
    assert len(s3.objects(bucket)) == 2
    s3.client().put_object(Bucket=bucket, Key="someone-else/keep.txt", Body=b"not Pathways'")
    confirm = _open(_open(teacher, tool, "privacy/"), tool, "privacy/course/delete")
    done = submit_form(confirm, "/privacy/course/delete", title="Grade 7 Mathematics")
    assert done.status_code == 200
    assert s3.objects(bucket) == {"someone-else/keep.txt": b"not Pathways'"}


def test_when_the_bucket_cannot_be_reached_pages_say_503_and_nothing_is_lost(make_tool, s3, bucket):
    tool = _s3_tool(make_tool, s3, bucket)
    sandbox = SandboxActions(tool)
    teacher = _setup_course(sandbox)
    student = sandbox.launch("student")
    photo = tiny_png()
    _send(_open(student, tool, "Show what I know"), filename="a.png", body=photo)
    (row,) = _rows(tool)
    classmate_form = _open(sandbox.launch("student-2"), tool, "Show what I know")
    privacy = _open(teacher, tool, "privacy/")
    confirm = _open(privacy, tool, f"privacy/students/{row.person_id}/delete")

    s3.stop()
    try:
        # A student's upload: the form comes back, with their words, and a plain reason.
        failed = _send(classmate_form, filename="b.png", body=tiny_png(3, 3), text="My number line, step by step")
        assert failed.status_code == 503
        assert "Pathways cannot keep files just now" in failed.text
        assert ">My number line, step by step</textarea>" in failed.text
        assert len(_rows(tool)) == 1
        # The teacher opening the file, the student's export: a plain 503 page that says to try again.
        for page in (_open(teacher, tool, f"evidence/{row.id}/file"), _open(student, tool, "privacy/my-data.json")):
            assert page.status_code == 503 and "Retry-After" in page.headers
            assert "Pathways cannot reach its file store just now" in page.text
            assert "Traceback" not in page.text and s3.url not in page.text
        # Deleting the student stops whole (a 503): no row goes while its file stays behind in the bucket.
        refused = submit_form(confirm, f"/privacy/students/{row.person_id}/delete", confirm="yes")
        assert refused.status_code == 503
        assert [r.id for r in _rows(tool)] == [row.id]
    finally:
        s3.start()

    opened = _open(teacher, tool, f"evidence/{row.id}/file")
    assert opened.status_code == 200 and opened.content == photo
    done = submit_form(confirm, f"/privacy/students/{row.person_id}/delete", confirm="yes")
    assert "Deleted the data of Priya Shah" in done.text
    assert _rows(tool) == [] and s3.objects(bucket) == {}


def test_doctor_checks_the_bucket_and_a_missing_bucket_or_boto3_setting_is_refused_at_start(make_tool, s3, bucket):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from lti_tool import create_app
    from lti_tool.cli import main
    from lti_tool.settings import InvalidSetting

    tool = _s3_tool(make_tool, s3, bucket)
    result = CliRunner().invoke(main, ["doctor"], obj=ScriptInfo(create_app=lambda: tool.app))
    assert f"ok       Evidence files can be stored in bucket {bucket} ({PREFIX}…)" in result.output
    assert s3.objects(bucket) == {}  # the test file is gone again

    wrong = _s3_tool(make_tool, s3, "no-such-bucket-here")
    result = CliRunner().invoke(main, ["doctor"], obj=ScriptInfo(create_app=lambda: wrong.app))
    assert "PROBLEM  Evidence files cannot be stored in bucket no-such-bucket-here" in result.output
    assert "(NoSuchBucket); check PATHWAYS_S3_BUCKET" in result.output

    with pytest.raises(InvalidSetting, match="needs PATHWAYS_S3_BUCKET"):
        create_app({"TESTING": True, "EVIDENCE_STORAGE": "s3", "INSTANCE_PATH": tool.app.instance_path})
    with pytest.raises(InvalidSetting, match="set it to local or s3"):
        create_app({"TESTING": True, "EVIDENCE_STORAGE": "ftp", "INSTANCE_PATH": tool.app.instance_path})


def test_the_workers_retention_pass_purges_nothing_while_the_bucket_is_down_and_everything_after(make_tool, s3,
                                                                                                 bucket):
    from datetime import datetime

    from lti_tool.extensions import cache, db
    from lti_tool.jobs.worker import drain
    from lti_tool.models import Course

    tool = _s3_tool(make_tool, s3, bucket, RETENTION_DAYS=30)
    sandbox = SandboxActions(tool)
    _setup_course(sandbox)
    _send(_open(sandbox.launch("student"), tool, "Show what I know"), filename="a.png", body=tiny_png())
    with tool.app.app_context():
        db.session.execute(db.update(Course).values(last_launch_at=datetime(2020, 1, 1), created_at=datetime(2020, 1, 1)))
        db.session.commit()
    s3.stop()
    try:
        stats = drain(tool.app, once=True)
        # Files go before rows: with the store down nothing goes, and the pass still ran (no error counted).
        assert stats.courses_purged == 0 and not stats.errors
        assert len(_rows(tool)) == 1
    finally:
        s3.start()
    assert len(s3.objects(bucket)) == 1
    with tool.app.app_context():
        cache.delete("retention-purge-ran")  # the next hour
    assert drain(tool.app, once=True).courses_purged == 1
    assert _rows(tool) == [] and s3.objects(bucket) == {}


def test_removing_the_platform_removes_its_objects_and_waits_for_a_bucket_that_is_down(make_tool, s3, bucket):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from lti_tool.cli import main

    def remove():
        return CliRunner().invoke(main, ["platform", "remove", tool.platform.issuer, "pathways-sandbox", "--yes"],
                                  obj=ScriptInfo(create_app=lambda: tool.app))

    tool = _s3_tool(make_tool, s3, bucket)
    sandbox = SandboxActions(tool)
    _setup_course(sandbox)
    _send(_open(sandbox.launch("student"), tool, "Show what I know"), filename="a.png", body=tiny_png())
    s3.stop()
    try:
        refused = remove()
        assert refused.exit_code == 1 and "Pathways cannot reach its file store just now" in refused.output
        assert len(_rows(tool)) == 1  # nothing removed, so nothing left in the bucket that no row names
    finally:
        s3.start()
    assert len(s3.objects(bucket)) == 1
    done = remove()
    assert done.exit_code == 0, done.output
    assert _rows(tool) == [] and s3.objects(bucket) == {}


def test_on_s3_a_long_film_is_served_in_byte_ranges_read_from_the_bucket(make_tool, s3, bucket):
    tool = _s3_tool(make_tool, s3, bucket)
    sandbox = SandboxActions(tool)
    teacher = _setup_course(sandbox)
    student = sandbox.launch("student")
    # A few megabytes: a range far into it is one ranged GET from the bucket, not the whole object.
    film = long_film(3 * 1024 * 1024 + 12345)
    sent = _send(_open(student, tool, "Show what I know"), filename="fractions.mp4", body=film,
                 content_type="video/mp4")
    assert "Sent to your teacher" in sent.text
    (row,) = _rows(tool)
    assert_ranges_served(teacher, sandbox.launch("student-2"), tool, row, film)
    middle = 2 * 1024 * 1024 - 3
    part = ranged(teacher, tool, f"evidence/{row.id}/file", f"bytes={middle}-{middle + 99_999}")
    assert part.status_code == 206 and part.content == film[middle:middle + 100_000]
