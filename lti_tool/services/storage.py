"""Evidence files behind a small interface (DESIGN.md "Seams"): save, open and delete by an opaque key.

The local-folder backend is the only one today (PATHWAYS_EVIDENCE_DIR, default <instance>/evidence). The
interface is kept to three calls so an S3-compatible backend can be added without touching its callers.
A file's type is decided here from its first bytes, never from its name or the browser's content type: a
page renamed photo.png is still a page, and must not be served back as anything a browser would run.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from flask import current_app

from .errors import N_, ServiceError

#: Content types Pathways accepts as evidence, with the file extension it gives downloads.
ALLOWED_TYPES: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "application/pdf": "pdf",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/ogg": "ogg",
    "audio/wav": "wav",
    "audio/webm": "webm",
}
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})


class FileRefused(ServiceError):
    """An upload we do not keep: wrong type, empty or too large (a plain message, never a 500)."""


class StoreUnavailable(ServiceError):
    """The store cannot keep a file now (disk full, folder not writable): the server's problem, not the person's."""

    status = 503


def sniff(data: bytes) -> str | None:
    """Return the content type the file's first bytes show, or None when it is not a type we accept."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in data[:4096]:
        # Matroska's EBML header; only its WebM flavour (DocType "webm"), as browsers record it.
        return "audio/webm"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        # An ID3 tag, or an MPEG audio frame sync (11 set bits) at the very start.
        return "audio/mpeg"
    if head[4:8] == b"ftyp" and head[8:12] in (b"M4A ", b"M4B ", b"mp42", b"isom", b"mp41", b"iso2", b"dash"):
        # An MP4 container: phones' voice memos are M4A; we serve it as audio and never play it inline.
        return "audio/mp4"
    return None


class EvidenceStore(Protocol):
    """Where evidence files live; keys are opaque strings the store chose."""

    def save(self, data: bytes, *, extension: str) -> str: ...

    def open(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


@dataclass(frozen=True)
class LocalFolderStore:
    """Files in one folder on the server's disk, named by random keys (no user input reaches a path)."""

    root: str

    def _path(self, key: str) -> str:
        name, _, extension = key.partition(".")
        # Keys are ours: hex, a dot, a known extension. Anything else never reaches the file system.
        if len(name) != 32 or any(c not in "0123456789abcdef" for c in name) \
                or extension not in ALLOWED_TYPES.values():
            raise FileNotFoundError(key)
        return os.path.join(self.root, name[:2], key)

    def save(self, data: bytes, *, extension: str) -> str:
        key = f"{secrets.token_hex(16)}.{extension}"
        path = self._path(key)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return key

    def open(self, key: str) -> bytes:
        with open(self._path(key), "rb") as handle:
            return handle.read()

    def delete(self, key: str) -> None:
        try:
            os.remove(self._path(key))
        except FileNotFoundError:
            pass


def evidence_store() -> EvidenceStore:
    """Return the configured store (only the local folder today; an S3-compatible one is not yet available)."""
    root = current_app.config.get("EVIDENCE_DIR") or os.path.join(current_app.instance_path, "evidence")
    return LocalFolderStore(root)


def max_bytes() -> int:
    """Return the largest evidence file accepted (PATHWAYS_EVIDENCE_MAX_BYTES)."""
    return int(current_app.config["EVIDENCE_MAX_BYTES"])


def check_file(data: bytes) -> str:
    """Return the sniffed content type of an upload, or refuse it in plain words."""
    if not data:
        raise FileRefused(N_("That file is empty."))
    limit = max_bytes()
    if len(data) > limit:
        raise FileRefused(N_("That file is too large: files can be up to %(size)s."), size=describe_size(limit))
    content_type = sniff(data)
    if content_type is None:
        raise FileRefused(N_("Pathways accepts photos (JPEG, PNG, WebP, GIF), PDF files and audio (MP3, M4A, "
                             "OGG, WAV, WebM). That file is none of these."))
    return content_type


def delete_files(keys: Iterable[str | None]) -> int:
    """Delete stored files by key (after the rows naming them are gone); return how many were named."""
    store = evidence_store()
    count = 0
    for key in keys:
        if key:
            store.delete(key)
            count += 1
    return count


def describe_size(size: int) -> str:
    """Return a size in words a person reads: 10 MB, 640 KB, 12 bytes."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} MB"
    if size >= 1024:
        return f"{size / 1024:.3g} KB"
    return f"{size} bytes"
