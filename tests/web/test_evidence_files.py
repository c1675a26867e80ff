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


def box(kind: bytes, payload: bytes) -> bytes:
    """Return one ISO base media box (MP4, MOV, HEIC): its size, its four-letter type, its payload."""
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def iso_file(major: bytes, compatible: list[bytes], handlers: list[bytes] = ()) -> bytes:
    """Return the start of an MP4/MOV/HEIC file: the ftyp box and a movie box with a track per handler type."""
    ftyp = box(b"ftyp", major + b"\x00\x00\x02\x00" + b"".join(compatible))
    tracks = b"".join(box(b"trak", box(b"mdia", box(b"hdlr", b"\x00" * 8 + handler + b"\x00" * 12 + b"Handler\x00")))
                      for handler in handlers)
    return ftyp + box(b"moov", box(b"mvhd", b"\x00" * 100) + tracks) + box(b"mdat", b"\x00\x11" * 200)


def webm_file(codecs: list[bytes]) -> bytes:
    """Return the start of a WebM file: the EBML header (DocType webm) and a track list naming the codecs."""
    header = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm\x42\x87\x81\x04"
    tracks = b"".join(b"\xae\x90\xd7\x81\x01\x86" + bytes([0x80 + len(c)]) + c for c in codecs)
    return header + b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff\x16\x54\xae\x6b" + tracks + b"\x00" * 300


#: A photo from an iPhone (HEIC), a film from an iPhone (MOV), an Android film (MP4), a browser's screen recording
#: (WebM with VP9 and Opus), a recorder app's .m4a (MP4 with a sound track only) and a voice memo (M4A brand).
HEIC_PHOTO = iso_file(b"heic", [b"mif1", b"heic"])
MIF1_HEIC_PHOTO = iso_file(b"mif1", [b"mif1", b"heic"])
HEIF_IMAGE = iso_file(b"mif1", [b"mif1"])
IPHONE_FILM = iso_file(b"qt  ", [b"qt  "], [b"soun", b"vide"])
ANDROID_FILM = iso_file(b"isom", [b"isom", b"iso2", b"avc1", b"mp41"], [b"vide", b"soun"])
WEBM_FILM = webm_file([b"V_VP9", b"A_OPUS"])
WEBM_SOUND = webm_file([b"A_OPUS"])
MP4_SOUND = iso_file(b"mp42", [b"isom", b"mp42"], [b"soun"])
VOICE_MEMO = iso_file(b"M4A ", [b"M4A ", b"isom"], [b"soun"])


def _send(page, *, filename: str, body: bytes, content_type: str = "image/png", text: str = "",
          skill_id: str = FIRST_SKILL):
    """Post the evidence form with a file attached, as a browser's multipart form does."""
    for match in re.finditer(r"<form[^>]*>.*?</form>", page.text, re.S):
        if 'enctype="multipart/form-data"' in match.group(0):
            action, fields = parse_form(match.group(0), page.url)
            fields.update(skill_id=skill_id, kind="project", text=text)
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
    assert "Pathways accepts photos (JPEG, PNG, WebP, GIF, HEIC), PDF files, audio" in refused.text

    big = tiny_png() + b"\x00" * 5000
    refused = _send(form, filename="big.png", body=big)
    assert refused.status_code == 200 and "That file is too large: files can be up to 3.91 KB." in refused.text

    # Far beyond the limit the body itself is refused before it is read: a 413 with the form and why, not a crash.
    huge = _send(form, filename="huge.png", body=tiny_png() + b"\x00" * 400_000)
    assert huge.status_code == 413 and "That file is too large: files can be up to 3.91 KB." in huge.text
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
        HEIC_PHOTO: "image/heic",
        MIF1_HEIC_PHOTO: "image/heic",
        HEIF_IMAGE: "image/heif",
        IPHONE_FILM: "video/quicktime",
        ANDROID_FILM: "video/mp4",
        WEBM_FILM: "video/webm",
        WEBM_SOUND: "audio/webm",
        MP4_SOUND: "audio/mp4",
        VOICE_MEMO: "audio/mp4",
    }
    for data, expected in samples.items():
        assert sniff(data) == expected, data
    for refused in (b"<html><body>", b"<svg xmlns='http://www.w3.org/2000/svg'>", b"PK\x03\x04", b"MZ\x90\x00",
                    b"\x1a\x45\xdf\xa3matroska", b"plain text",
                    # An ftyp box of a brand we do not take (AVIF, a Canon raw), and a box too short to read.
                    iso_file(b"avif", [b"avif", b"mif1"]), iso_file(b"crx ", [b"crx "]), b"\x00\x00\x00\x08ftyp"):
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
    sent = _send(_open(sandbox.launch("student"), tool, "Show what I know"), filename="a.png", body=tiny_png(),
                 text="My poster of the fraction wall")
    # The server's fault, not the student's: a 503 that gives back the form with their words in it.
    assert sent.status_code == 503
    assert "Pathways cannot keep files just now. Try again later, or send a link to your work instead." in sent.text
    assert ">My poster of the fraction wall</textarea>" in sent.text
    assert _rows(tool) == []


def test_phone_photos_films_and_recordings_are_kept_and_served_with_their_type(sandbox, tool):
    """HEIC (an iPhone's photos), MOV, MP4 and WebM films and recordings: typed by their bytes, served with that
    type, opened in the browser only when it plays them itself (a film, a sound), downloaded otherwise."""
    from tests.web.test_agency import PACK

    teacher = _setup_course(sandbox)
    student = sandbox.launch("student")
    cases = [  # what the phone sends, what it is, how it is served
        ("IMG_0001.HEIC", HEIC_PHOTO, "image/heic", "IMG_0001.heic", "attachment"),
        ("IMG_0002.MOV", IPHONE_FILM, "video/quicktime", "IMG_0002.mov", "inline"),
        ("VID_2026.mp4", ANDROID_FILM, "video/mp4", "VID_2026.mp4", "inline"),
        ("screen.webm", WEBM_FILM, "video/webm", "screen.webm", "inline"),
        ("talk.m4a", MP4_SOUND, "audio/mp4", "talk.m4a", "inline"),
        ("memo.m4a", VOICE_MEMO, "audio/mp4", "memo.m4a", "inline"),
    ]
    skills = PACK.skill_graph.topological_order()
    assert len(skills) >= len(cases)
    for (filename, body, content_type, name, disposition), skill_id in zip(cases, skills, strict=False):
        form = _open(student, tool, "Show what I know")
        # Browsers often send phone files as application/octet-stream: the bytes decide.
        sent = _send(form, filename=filename, body=body, content_type="application/octet-stream", skill_id=skill_id)
        assert "Sent to your teacher" in sent.text, filename
        row = _rows(tool)[-1]
        assert (row.file_type, row.file_name) == (content_type, name)
        opened = _open(teacher, tool, f"evidence/{row.id}/file")
        assert opened.status_code == 200 and opened.content == body
        assert opened.headers["Content-Type"] == content_type
        assert opened.headers["Content-Disposition"] == f'{disposition}; filename="{name}"'
        assert opened.headers["X-Content-Type-Options"] == "nosniff"
        assert opened.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    # Not drawable by most browsers, a HEIC photo is offered to the teacher as a download, not an <img>.
    queue = _open(teacher, tool, "Evidence to review")
    assert re.search(r'<a href="[^"]+/file[^"]*" download>Download IMG_0001.heic', queue.text)
    assert "<img" not in queue.text


def test_a_failed_upload_gives_the_form_back_with_what_the_student_wrote(make_tool, tmp_path):
    from tests.support import SandboxActions

    tool = make_tool(EVIDENCE_MAX_BYTES=4000)
    sandbox = SandboxActions(tool)
    _setup_course(sandbox)
    form = _open(sandbox.launch("student"), tool, "Show what I know")
    words = "I built a fraction wall & measured <each> piece"
    refused = _send(form, filename="big.png", body=tiny_png() + b"\x00" * 5000, text=words)
    assert refused.status_code == 200 and "That file is too large" in refused.text
    assert 'id="evidence-text" rows="6" maxlength="4000" aria-describedby="evidence-either">' \
           "I built a fraction wall &amp; measured &lt;each&gt; piece</textarea>" in refused.text
    assert re.search(r'value="project" id="evidence-kind-project" required checked', refused.text)
    assert _rows(tool) == []


def long_film(size: int) -> bytes:
    """Return an MP4 of about `size` bytes whose picture data never repeats at a 256-byte step (251 is prime),
    so a range served from the wrong offset cannot pass for the right one."""
    head = ANDROID_FILM[:ANDROID_FILM.index(b"mdat") - 4]
    payload = bytes(i % 251 for i in range(max(0, size - len(head) - 8)))
    return head + box(b"mdat", payload)


def ranged(page, tool, path: str, byte_range: str):
    """GET a path inside the page's launch with a Range header, as a browser's media player does."""
    base = re.search(r"/c/[^/]+/", page.url).group(0)
    return page.http.get(tool.url(base + path), headers={"Range": byte_range}, timeout=30)


def assert_ranges_served(teacher, classmate, tool, row, body: bytes) -> int:
    """Check byte ranges of a stored file over HTTP; return how many times the teacher opened it."""
    path, size = f"evidence/{row.id}/file", len(body)
    whole = _open(teacher, tool, path)
    assert whole.status_code == 200 and whole.content == body
    assert whole.headers["Accept-Ranges"] == "bytes" and whole.headers["Content-Length"] == str(size)
    cases = {  # what a player asks for, the bytes it must get
        "bytes=0-1": (0, 2),  # Safari's first probe
        "bytes=100-199": (100, 200),
        f"bytes={size - 700}-": (size - 700, size),
        "bytes=-10": (size - 10, size),
        f"bytes={size - 5}-{size + 1000}": (size - 5, size),  # past the end: up to the end
    }
    for asked, (start, stop) in cases.items():
        part = ranged(teacher, tool, path, asked)
        assert part.status_code == 206, asked
        assert part.content == body[start:stop], asked
        assert part.headers["Content-Range"] == f"bytes {start}-{stop - 1}/{size}", asked
        assert part.headers["Content-Length"] == str(stop - start)
        # A part is the same file: typed, never sniffed, inline only because it is a film, and not cached.
        assert part.headers["Content-Type"] == row.file_type
        assert part.headers["X-Content-Type-Options"] == "nosniff"
        assert part.headers["Content-Disposition"] == f'inline; filename="{row.file_name}"'
        assert part.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert part.headers["Cache-Control"] == "no-store"
    # Several ranges at once, or an If-Range the file has no validator to match: the whole file, as RFC 9110
    # lets a server answer.
    for asked, extra in (("bytes=0-1,5-6", {}), ("bytes=0-1", {"If-Range": '"some-etag"'})):
        base = re.search(r"/c/[^/]+/", teacher.url).group(0)
        full = teacher.http.get(tool.url(base + path), headers={"Range": asked, **extra}, timeout=30)
        assert full.status_code == 200 and full.content == body and "Content-Range" not in full.headers, asked
    beyond = ranged(teacher, tool, path, f"bytes={size}-")
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{size}"
    assert body[:50] not in beyond.content
    # The permission check comes first: a classmate's Range gets the same 404 as any other request.
    refused = ranged(classmate, tool, path, "bytes=0-99")
    assert refused.status_code == 404 and body[:100] not in refused.content
    return 1 + len(cases) + 2 + 1


def test_a_film_is_served_in_byte_ranges_so_a_player_can_seek_and_only_to_those_who_may_see_it(sandbox, tool):
    teacher = _setup_course(sandbox)
    student = sandbox.launch("student")
    film = long_film(3000)
    sent = _send(_open(student, tool, "Show what I know"), filename="fractions.mp4", body=film,
                 content_type="video/mp4")
    assert "Sent to your teacher" in sent.text
    (row,) = _rows(tool)
    opened = assert_ranges_served(teacher, sandbox.launch("student-2"), tool, row, film)
    with tool.app.app_context():
        from lti_tool.models import AuditEntry

        audited = db.session.scalars(sa.select(AuditEntry.subject_id).where(
            AuditEntry.action == "view_evidence_file")).all()
    # Each request the teacher's player makes is a look at the film, audited like the first.
    assert audited == [row.person_id] * opened


def test_the_queue_plays_sound_and_film_in_labelled_players_with_a_download_link_beside_them(sandbox, tool):
    from tests.web.test_agency import PACK

    teacher = _setup_course(sandbox)
    student = sandbox.launch("student")
    skills = PACK.skill_graph.topological_order()
    names = {s.id: s.name for s in PACK.skills}
    for (filename, body), skill_id in zip([("film.mp4", ANDROID_FILM), ("talk.m4a", MP4_SOUND),
                                           ("notes.pdf", b"%PDF-1.4 notes")], skills, strict=False):
        sent = _send(_open(student, tool, "Show what I know"), filename=filename, body=body,
                     content_type="application/octet-stream", skill_id=skill_id)
        assert "Sent to your teacher" in sent.text
    film, sound, pdf = _rows(tool)
    queue = _open(teacher, tool, "Evidence to review").text

    def player(tag: str, row) -> re.Match:
        return re.search(rf'<{tag} controls preload="none" src="([^"]+/evidence/{row.id}/file)" '
                         rf'aria-label="([^"]+)"></{tag}>\s*<figcaption class="muted"><a href="([^"]+)" download>'
                         rf'Download {re.escape(row.file_name)} \(', queue)

    shown = player("video", film)
    assert shown and shown.group(2) == f"Video Priya Shah sent for {names[skills[0]]}"
    assert shown.group(3) == shown.group(1)  # the link fetches the same guarded file
    heard = player("audio", sound)
    assert heard and heard.group(2) == f"Recording Priya Shah sent for {names[skills[1]]}"
    # A PDF is no web media: only its download link, no player.
    assert queue.count("<video") == 1 and queue.count("<audio") == 1
    assert re.search(rf'<p><a href="[^"]+/evidence/{pdf.id}/file" download>Download notes.pdf', queue)
    # Played in the page, the files keep their guard: a classmate is refused the player's request.
    refused = ranged(sandbox.launch("student-2"), tool, f"evidence/{film.id}/file", "bytes=0-")
    assert refused.status_code == 404


def test_an_upload_that_cannot_belong_to_the_launch_is_refused_before_its_body_is_read(sandbox, tool):
    """Anyone could post 10 MB to /c/<anything>/evidence: the file limit was raised before any launch was checked,
    and the whole multipart body was parsed to look for a launch token there. Only a request that can belong to
    the launch (its session holds it, or its query carries a token signed for it) gets the file limit now."""
    import requests

    from lti_tool.lti.platform_storage import sign_launch_token

    _setup_course(sandbox)
    student = sandbox.launch("student")
    launch_id = re.search(r"/c/([^/]+)/", student.url).group(1)
    other_launch = sign_launch_token("another-launch", tool.app.config["SECRET_KEY"], "b" * 32)
    photo = tiny_png() + b"\x00" * 1_000_000  # over MAX_CONTENT_LENGTH, well under EVIDENCE_MAX_BYTES
    fields = {"skill_id": FIRST_SKILL, "kind": "project", "lt": "forged"}
    # No session, the token only in the body: refused at the small limit, before the body is parsed for it.
    # A token in the query that names no launch of this browser is refused as on any launch page (404), unread.
    for query, status in (("", 413), ("?lt=forged", 404), ("?lt=" + other_launch, 404)):
        refused = requests.post(tool.url(f"/c/{launch_id}/evidence{query}"), data=fields,
                                files={"file": ("photo.png", photo, "image/png")}, timeout=30)
        assert refused.status_code == status, (query, refused.status_code)
    assert _rows(tool) == []

    # The student's own browser, whose session holds the launch, sends the same photo.
    sent = _send(_open(student, tool, "Show what I know"), filename="photo.png", body=photo)
    assert sent.status_code == 200, sent.text[:500]
    assert [row.file_name for row in _rows(tool)] == ["photo.png"]


def test_a_cookieless_tab_sends_a_file_larger_than_the_small_body_limit(sandbox, tool):
    """A tab launched through platform storage has no session: its form's address carries the launch token."""
    from tests.lti.test_platform_storage import StorageLaunch

    _setup_course(sandbox)
    launch = StorageLaunch(sandbox)
    home = launch.confirm()
    link = re.search(r'href="([^"]*/evidence\?[^"]*)"', home.text).group(1).replace("&amp;", "&")
    form = home.http.get(tool.url(link), timeout=30)
    match = next(m.group(0) for m in re.finditer(r"<form[^>]*>.*?</form>", form.text, re.S)
                 if 'enctype="multipart/form-data"' in m.group(0))
    action, fields = parse_form(match, form.url)
    assert "lt=" in action
    fields.update(skill_id=FIRST_SKILL, kind="project", text="", ts=launch.tab_secret)
    photo = tiny_png() + b"\x00" * 1_000_000
    sent = home.http.post(action, data=fields, files={"file": ("photo.png", photo, "image/png")}, timeout=30)
    assert sent.status_code == 200, sent.text[:500]
    assert [row.file_name for row in _rows(tool)] == ["photo.png"]


def test_a_learner_who_is_also_a_mentor_opens_their_own_file_and_no_one_elses(sandbox, tool):
    # A parent who studies in the course, or a Canvas observer beside a student enrolment: Mentor + Learner.
    _setup_course(sandbox)
    photo = tiny_png()
    classmate = _open(sandbox.launch("student-2"), tool, "Show what I know")
    assert "Sent to your teacher" in _send(classmate, filename="theirs.png", body=photo).text
    lis = "http://purl.imsglobal.org/vocab/lis/v2/membership"
    tool.platform.users[sandbox.sub("student")].roles = [lis + "#Mentor", lis + "#Learner"]
    form = _open(sandbox.launch("student"), tool, "Show what I know")
    sent = _send(form, filename="mine.png", body=photo + b"mine")
    assert "Sent to your teacher" in sent.text
    theirs, mine = _rows(tool)
    opened = _open(sent, tool, f"evidence/{mine.id}/file")
    assert opened.status_code == 200 and opened.content == photo + b"mine"
    refused = _open(sent, tool, f"evidence/{theirs.id}/file")
    assert refused.status_code == 404 and photo not in refused.content
