"""Students attach a photo, PDF or recording as evidence: typed by its bytes, served only to them and their teachers,
exported with their data and removed with it."""

from __future__ import annotations

import base64
import os
import re
import struct
import zlib

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Evidence
from lti_tool.services.storage import sniff
from tests.support import parse_form, submit_form
from tests.web.test_agency import FIRST_NAME, FIRST_SKILL, _open, _setup_course


def tiny_png(width: int = 2, height: int = 2) -> bytes:
    """Return a real PNG (grey pixels) a browser can draw."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def _send(page, *, filename: str, body: bytes, content_type: str = "image/png", text: str = ""):
    """Post the evidence form with a file attached, as a browser's multipart form does."""
    for match in re.finditer(r"<form[^>]*>.*?</form>", page.text, re.S):
        if 'enctype="multipart/form-data"' in match.group(0):
            action, fields = parse_form(match.group(0), page.url)
            fields.update(skill_id=FIRST_SKILL, kind="project", text=text)
            response = page.http.post(action, data=fields, files={"file": (filename, body, content_type)},
                                      timeout=30)
            response.http = page.http
            return response
    raise AssertionError("no evidence upload form")


def _rows(tool) -> list[Evidence]:
    with tool.app.app_context():
        rows = list(db.session.scalars(sa.select(Evidence).order_by(Evidence.id)))
        db.session.expunge_all()
        return rows


def _file_path(tool, key: str) -> str:
    return os.path.join(tool.app.instance_path, "evidence", key[:2], key)


def test_a_photo_sent_as_evidence_reaches_the_teachers_queue_and_no_one_else(sandbox, tool):
    teacher = _setup_course(sandbox)
    student = sandbox.launch("student")
    form = _open(student, tool, "Show what I know")
    assert 'type="file"' in form.text
    photo = tiny_png()
    sent = _send(form, filename="my poster.png", body=photo, text="My fraction wall poster")
    assert f"Sent to your teacher: your evidence for {FIRST_NAME}" in sent.text
    (row,) = _rows(tool)
    assert (row.file_type, row.file_size, row.file_name) == ("image/png", len(photo), "my poster.png")
    assert os.path.exists(_file_path(tool, row.file_key))
    assert "Attached file: my poster.png" in sent.text

    queue = _open(teacher, tool, "Evidence to review")
    image = re.search(rf'<img src="([^"]+/evidence/{row.id}/file[^"]*)" alt="([^"]*)"', queue.text)
    assert image and image.group(2) == "My fraction wall poster"
    opened = teacher.http.get(tool.url(image.group(1).replace("&amp;", "&")), timeout=30)
    assert opened.status_code == 200 and opened.content == photo
    assert opened.headers["Content-Type"] == "image/png"
    assert opened.headers["X-Content-Type-Options"] == "nosniff"
    assert opened.headers["Cache-Control"] == "no-store"
    assert opened.headers["Content-Disposition"].startswith("inline")
    with tool.app.app_context():
        from lti_tool.models import AuditEntry

        audited = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "view_evidence_file")).all()
        assert [entry.subject_id for entry in audited] == [row.person_id]

    # The student who sent it may open it again; a classmate, and a teacher of another course, may not.
    assert _open(sent, tool, f"evidence/{row.id}/file").content == photo
    classmate = sandbox.launch("student-2")
    refused = _open(classmate, tool, f"evidence/{row.id}/file")
    assert refused.status_code == 404 and photo not in refused.content
    tool.platform.add_course("science-8", "Grade 8 Science", "SCI8")
    tool.platform.add_user("teacher", roles=["Instructor"], name="Amara Okafor", context_id="science-8")
    tool.platform.add_resource_link("pathways-home", "Pathways", context_id="science-8")
    elsewhere = sandbox.launch("teacher", context_id="science-8")
    assert elsewhere.status_code == 200
    refused = _open(elsewhere, tool, f"evidence/{row.id}/file")
    assert refused.status_code == 404 and photo not in refused.content


def test_a_pdf_is_offered_to_the_teacher_as_a_download(sandbox, tool):
    teacher = _setup_course(sandbox)
    form = _open(sandbox.launch("student"), tool, "Show what I know")
    # Larger than the 256 KB every other page accepts: the upload page alone takes files up to the file limit.
    pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\n" + b"%" * 600_000 + b"\ntrailer <<>>\n%%EOF\n"
    # The browser's name and type say nothing: the bytes do.
    sent = _send(form, filename="notes", body=pdf, content_type="application/octet-stream")
    assert "Sent to your teacher" in sent.text
    (row,) = _rows(tool)
    assert row.file_type == "application/pdf" and row.file_name == "notes.pdf"
    queue = _open(teacher, tool, "Evidence to review")
    link = re.search(rf'<a href="([^"]+/evidence/{row.id}/file[^"]*)" download>Download notes.pdf', queue.text)
    assert link
    opened = teacher.http.get(tool.url(link.group(1).replace("&amp;", "&")), timeout=30)
    assert opened.headers["Content-Type"] == "application/pdf"
    assert opened.headers["Content-Disposition"] == 'attachment; filename="notes.pdf"'
    assert opened.content == pdf


def test_a_page_renamed_png_and_a_file_over_the_limit_are_refused_in_plain_words(sandbox, make_tool):
    from tests.support import SandboxActions

    tool = make_tool(EVIDENCE_MAX_BYTES=4000)
    sandbox = SandboxActions(tool)
    _setup_course(sandbox)
    form = _open(sandbox.launch("student"), tool, "Show what I know")

    html = b"<!doctype html><script>alert(document.cookie)</script>"
    refused = _send(form, filename="photo.png", body=html, content_type="image/png")
    assert refused.status_code == 200
    assert "Pathways accepts photos (JPEG, PNG, WebP, GIF), PDF files and audio" in refused.text

    big = tiny_png() + b"\x00" * 5000
    refused = _send(form, filename="big.png", body=big)
    assert refused.status_code == 200 and "That file is too large: files can be up to 3.91 KB." in refused.text

    # Far beyond the limit the body itself is refused before it is read: a plain 413 page, not a crash.
    huge = _send(form, filename="huge.png", body=tiny_png() + b"\x00" * 400_000)
    assert huge.status_code == 413 and "The request is too large." in huge.text
    assert _rows(tool) == []
    assert not os.path.exists(os.path.join(tool.app.instance_path, "evidence")) or not any(
        files for _, _, files in os.walk(os.path.join(tool.app.instance_path, "evidence")))

    # Every other page keeps the small body limit.
    page = sandbox.launch("student")
    goals = _open(page, tool, "My goals")
    big_goal = submit_form(goals, "/goals", title="x", why="y" * 300_000)
    assert big_goal.status_code == 413


def test_the_file_is_in_the_students_export_and_leaves_the_disk_when_the_student_is_deleted(sandbox, tool):
    teacher = _setup_course(sandbox)
    student = sandbox.launch("student")
    photo = tiny_png(3, 3)
    _send(_open(student, tool, "Show what I know"), filename="wall.png", body=photo, text="Fraction wall")
    (row,) = _rows(tool)
    path = _file_path(tool, row.file_key)
    assert os.path.exists(path)

    exported = _open(student, tool, "privacy/my-data.json").json()
    (evidence,) = exported["courses"][0]["evidence"]
    assert evidence["file"]["name"] == "wall.png" and evidence["file"]["content_type"] == "image/png"
    assert base64.b64decode(evidence["file"]["content_base64"]) == photo
    readable = _open(student, tool, "privacy/my-data.html")
    assert f"Attached file: wall.png ({len(photo)} bytes)" in readable.text

    privacy = _open(teacher, tool, "privacy/")
    confirm = _open(privacy, tool, f"privacy/students/{row.person_id}/delete")
    done = submit_form(confirm, f"/privacy/students/{row.person_id}/delete", confirm="yes")
    assert "Deleted the data of Priya Shah" in done.text
    assert _rows(tool) == [] and not os.path.exists(path)


def test_deleting_all_course_data_removes_its_files(sandbox, tool):
    teacher = _setup_course(sandbox)
    _send(_open(sandbox.launch("student"), tool, "Show what I know"), filename="a.png", body=tiny_png())
    (row,) = _rows(tool)
    path = _file_path(tool, row.file_key)
    confirm = _open(_open(teacher, tool, "privacy/"), tool, "privacy/course/delete")
    done = submit_form(confirm, "/privacy/course/delete", title="Grade 7 Mathematics")
    assert done.status_code == 200 and not os.path.exists(path)


def test_content_sniffing_knows_each_accepted_type_by_its_first_bytes():
    samples = {
        b"\xff\xd8\xff\xe0\x00\x10JFIF": "image/jpeg",
        tiny_png(): "image/png",
        b"RIFF\x24\x00\x00\x00WEBPVP8 ": "image/webp",
        b"GIF89a\x01\x00": "image/gif",
        b"%PDF-1.7\n": "application/pdf",
        b"ID3\x04\x00\x00\x00\x00\x00\x00": "audio/mpeg",
        b"\xff\xfb\x90\x64\x00": "audio/mpeg",
        b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00": "audio/mp4",
        b"OggS\x00\x02": "audio/ogg",
        b"RIFF\x24\x00\x00\x00WAVEfmt ": "audio/wav",
        b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm": "audio/webm",
    }
    for data, expected in samples.items():
        assert sniff(data) == expected, data
    for refused in (b"<html><body>", b"<svg xmlns='http://www.w3.org/2000/svg'>", b"PK\x03\x04", b"MZ\x90\x00",
                    b"\x1a\x45\xdf\xa3matroska", b"plain text"):
        assert sniff(refused) is None, refused


def test_the_workers_retention_pass_removes_the_files_of_a_course_it_purges(make_tool):
    from datetime import datetime

    from lti_tool.jobs.worker import drain
    from lti_tool.models import Course
    from tests.support import SandboxActions

    tool = make_tool(RETENTION_DAYS=30)
    sandbox = SandboxActions(tool)
    _setup_course(sandbox)
    _send(_open(sandbox.launch("student"), tool, "Show what I know"), filename="a.png", body=tiny_png())
    (row,) = _rows(tool)
    path = _file_path(tool, row.file_key)
    assert os.path.exists(path)
    with tool.app.app_context():
        db.session.execute(db.update(Course).values(last_launch_at=datetime(2020, 1, 1), created_at=datetime(2020, 1, 1)))
        db.session.commit()
    assert drain(tool.app, once=True).courses_purged == 1
    assert _rows(tool) == [] and not os.path.exists(path)


def test_a_store_that_cannot_write_tells_the_student_in_plain_words_and_keeps_no_row(make_tool, tmp_path):
    from tests.support import SandboxActions

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the evidence folder should be")
    tool = make_tool(EVIDENCE_DIR=str(blocker))
    sandbox = SandboxActions(tool)
    _setup_course(sandbox)
    sent = _send(_open(sandbox.launch("student"), tool, "Show what I know"), filename="a.png", body=tiny_png())
    assert sent.status_code == 200
    assert "Pathways cannot keep files just now. Try again later, or send a link to your work instead." in sent.text
    assert _rows(tool) == []
