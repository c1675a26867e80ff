"""Evidence files behind a small interface (DESIGN.md "Seams"): save, open and delete by an opaque key.

Two backends: a local folder (PATHWAYS_EVIDENCE_DIR, default <instance>/evidence) and a bucket of an
S3-compatible store (PATHWAYS_EVIDENCE_STORAGE=s3; boto3 comes with the `s3` extra). Either way files reach
people only through the tool, which checks who asks and audits a teacher's look: the bucket stays private and
Pathways hands out no bucket URLs, presigned or not (a presigned URL is a bearer token that outlives the launch,
a role change and even the file's deletion, and carries none of the headers below).
A file's type is decided here from its bytes, never from its name or the browser's content type: a page renamed
photo.png is still a page, and must not be served back as anything a browser would run.
"""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, Protocol

from flask import current_app

from .errors import N_, ServiceError

#: Content types Pathways accepts as evidence, with the file extension it gives downloads.
ALLOWED_TYPES: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/heic": "heic",
    "image/heif": "heif",
    "application/pdf": "pdf",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/ogg": "ogg",
    "audio/wav": "wav",
    "audio/webm": "webm",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
}
#: Photos every browser draws in an <img>: the teacher's queue shows these (HEIC only Safari draws: a download).
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
#: Types a browser may open in its own tab (Content-Disposition: inline): pictures it draws and sound or film
#: its player plays, none of which can run script. PDF (viewers run JavaScript) and HEIC go out as downloads.
INLINE_TYPES = IMAGE_TYPES | {t for t in ALLOWED_TYPES if t.startswith(("audio/", "video/"))}
#: Sound and film the teacher's queue plays in an <audio> or <video> player. A browser that lacks a codec (a MOV
#: outside Safari, OGG in an old Safari) shows a dead player, so the queue keeps a download link beside it.
AUDIO_TYPES = frozenset(t for t in ALLOWED_TYPES if t.startswith("audio/"))
VIDEO_TYPES = frozenset(t for t in ALLOWED_TYPES if t.startswith("video/"))

# ISO base media (MP4/QuickTime) brands, from the `ftyp` box: HEIF stills, and films.
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"}
_HEIF_BRANDS = {b"mif1", b"msf1"}
_MP4_BRANDS = {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"M4V ", b"M4VP",
               b"MSNV", b"3gp4", b"3gp5", b"3gp6"}
_AUDIO_MP4_BRANDS = {b"M4A ", b"M4B "}
# WebM (Matroska) codec ids of picture tracks: a WebM holding one is a film, else a sound recording.
_WEBM_VIDEO_CODECS = (b"V_VP8", b"V_VP9", b"V_AV1", b"V_MPEG4")


class FileRefused(ServiceError):
    """An upload we do not keep: wrong type, empty or too large (a plain message, never a 500)."""


class StoreUnavailable(ServiceError):
    """The store cannot keep or give a file now (disk full, bucket unreachable or refusing us): the server's
    problem, not the person's, so a 503 in plain words."""

    status = 503


STORE_DOWN = N_("Pathways cannot reach its file store just now. Try again in a few minutes.")


def _iso_brands(data: bytes) -> tuple[bytes, set[bytes]] | None:
    """Return (major brand, compatible brands) of an ISO base media file's leading `ftyp` box, or None."""
    if data[4:8] != b"ftyp" or len(data) < 16:
        return None
    size = min(int.from_bytes(data[:4], "big"), 4096, len(data))
    return data[8:12], {data[i:i + 4] for i in range(16, size - 3, 4)}


def _iso_has_picture(data: bytes) -> bool:
    """Say whether an MP4/QuickTime file has a picture track: a handler box (`hdlr`) of type `vide`."""
    at = data.find(b"hdlr")
    while at != -1:
        # size(4) 'hdlr' | version and flags(4) | pre_defined(4) | handler type(4)
        if data[at + 12:at + 16] == b"vide":
            return True
        at = data.find(b"hdlr", at + 4)
    return False


def sniff(data: bytes) -> str | None:
    """Return the content type the file's bytes show, or None when it is not a type we accept."""
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
        # Matroska's EBML header; only its WebM flavour (DocType "webm"), as browsers and phones record it.
        # The track list follows the header; a picture codec in it makes the file a film.
        return "video/webm" if any(codec in data[:65536] for codec in _WEBM_VIDEO_CODECS) else "audio/webm"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        # An ID3 tag, or an MPEG audio frame sync (11 set bits) at the very start.
        return "audio/mpeg"
    brands = _iso_brands(data)
    if brands is not None:
        major, compatible = brands
        if major in _HEIC_BRANDS or (major in _HEIF_BRANDS and compatible & _HEIC_BRANDS):
            return "image/heic"  # an iPhone's photo (major brand heic, or mif1 naming heic)
        if major in _HEIF_BRANDS:
            return "image/heif"
        if major == b"qt  ":
            return "video/quicktime"  # an iPhone's film
        if major in _AUDIO_MP4_BRANDS:
            return "audio/mp4"  # a voice memo
        if major in _MP4_BRANDS or compatible & _MP4_BRANDS:
            # The brand does not say film or sound; the track handlers do (a recorder's .m4a is often isom).
            return "video/mp4" if _iso_has_picture(data) else "audio/mp4"
    return None


class EvidenceStore(Protocol):
    """Where evidence files live; keys are opaque strings the store chose.

    save, open and open_file raise StoreUnavailable when the store fails; open and open_file raise
    FileNotFoundError for a missing key; delete and delete_many ignore keys already gone.
    """

    def save(self, data: bytes, *, extension: str) -> str: ...

    def open(self, key: str) -> bytes: ...

    def open_file(self, key: str) -> tuple[IO[bytes], int]:
        """Return the file as a seekable binary file (the caller closes it) and its size in bytes, so a byte
        range of a long film is read from the store without reading the rest."""
        ...

    def delete(self, key: str) -> None: ...

    def delete_many(self, keys: list[str]) -> None: ...

    def describe(self) -> str: ...


def failure_name(exc: BaseException) -> str:
    """Name a store failure for a log or `pathways doctor`: its class and S3 error code (AccessDenied, NoSuchBucket),
    never its message, which may carry a URL."""
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code", "") if isinstance(response, dict) else ""
    name = exc.__class__.__name__
    return name if code in ("", name) else f"{name} {code}"


def new_key(extension: str) -> str:
    """Return a fresh random key: 32 hex digits, a dot and the type's extension (no user input in it)."""
    return f"{secrets.token_hex(16)}.{extension}"


def check_key(key: str) -> str:
    """Return the key's place in a store ("ab/ab….png"); refuse anything that is not a key we made."""
    name, _, extension = key.partition(".")
    # Keys are ours: hex, a dot, a known extension. Anything else never reaches a path or a bucket.
    if len(name) != 32 or any(c not in "0123456789abcdef" for c in name) or extension not in ALLOWED_TYPES.values():
        raise FileNotFoundError(key)
    return f"{name[:2]}/{key}"


@dataclass(frozen=True)
class LocalFolderStore:
    """Files in one folder on the server's disk, named by random keys."""

    root: str

    def _path(self, key: str) -> str:
        return os.path.join(self.root, *check_key(key).split("/"))

    def save(self, data: bytes, *, extension: str) -> str:
        key = new_key(extension)
        path = self._path(key)
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        except OSError as exc:
            # A full or read-only disk is ours to fix, not the student's.
            raise StoreUnavailable(STORE_DOWN) from exc
        return key

    def open(self, key: str) -> bytes:
        try:
            with open(self._path(key), "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise StoreUnavailable(STORE_DOWN) from exc

    def open_file(self, key: str) -> tuple[IO[bytes], int]:
        try:
            handle = open(self._path(key), "rb")  # noqa: SIM115 - returned open: the caller reads a range, then closes it
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise StoreUnavailable(STORE_DOWN) from exc
        return handle, os.fstat(handle.fileno()).st_size

    def delete(self, key: str) -> None:
        try:
            os.remove(self._path(key))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StoreUnavailable(STORE_DOWN) from exc

    def delete_many(self, keys: list[str]) -> None:
        for key in keys:
            self.delete(key)

    def describe(self) -> str:
        return self.root


@dataclass(frozen=True)
class S3Store:
    """Files as objects in one bucket of an S3-compatible store (AWS S3, MinIO, Ceph, …), private to Pathways."""

    client: Any  # a boto3 S3 client
    bucket: str
    prefix: str = ""

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _failed(self, exc: Exception) -> StoreUnavailable:
        import logging

        logging.getLogger(__name__).warning("evidence store %s failed: %s", self.bucket, failure_name(exc))
        return StoreUnavailable(STORE_DOWN)

    @contextmanager
    def _reading(self, key: str) -> Iterator[None]:
        """Turn a read's S3 errors into ours: a missing object is FileNotFoundError, anything else the store down."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from exc
            raise self._failed(exc) from exc
        except BotoCoreError as exc:
            raise self._failed(exc) from exc

    def save(self, data: bytes, *, extension: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        key = new_key(extension)
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data,
                                   ContentType="application/octet-stream")
        except (BotoCoreError, ClientError) as exc:
            raise self._failed(exc) from exc
        return key

    def open(self, key: str) -> bytes:
        with self._reading(key):
            return self.client.get_object(Bucket=self.bucket, Key=self._name(key))["Body"].read()

    def open_file(self, key: str) -> tuple[IO[bytes], int]:
        name = self._name(key)
        with self._reading(key):
            size = int(self.client.head_object(Bucket=self.bucket, Key=name)["ContentLength"])
        # Each read is one ranged GET: a player's seek into a long film fetches the part it asks for, not the
        # whole object.
        return _S3Object(self, name, size), size

    def delete(self, key: str) -> None:
        self.delete_many([key])

    def delete_many(self, keys: list[str]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        names = [self._name(key) for key in keys]
        # DeleteObjects takes up to 1000 keys a call; a key already gone counts as deleted.
        for start in range(0, len(names), 1000):
            batch = [{"Key": name} for name in names[start:start + 1000]]
            try:
                answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            except (BotoCoreError, ClientError) as exc:
                raise self._failed(exc) from exc
            if answer.get("Errors"):
                raise self._failed(ClientError({"Error": answer["Errors"][0]}, "DeleteObjects"))

    def describe(self) -> str:
        return f"bucket {self.bucket}" + (f" ({self.prefix}…)" if self.prefix else "")


class _S3Object(io.RawIOBase):
    """One object of the bucket as a seekable raw file: each read is a ranged GetObject from the position."""

    def __init__(self, store: S3Store, name: str, size: int) -> None:
        super().__init__()
        self._store, self._name, self._size, self._position = store, name, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        wanted = min(len(buffer), self._size - self._position)
        if wanted <= 0:
            return 0
        last = self._position + wanted - 1
        try:
            body = self._store.client.get_object(Bucket=self._store.bucket, Key=self._name,
                                                 Range=f"bytes={self._position}-{last}")["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise self._store._failed(exc) from exc
        count = len(body)
        buffer[:count] = body
        self._position += count
        return count


def _s3_client(config: Any) -> Any:
    # Installed with the s3 extra; settings refuse to start with EVIDENCE_STORAGE=s3 without it.
    import boto3
    from botocore.config import Config

    timeout = int(config.get("S3_TIMEOUT_SECONDS") or 10)
    endpoint = config.get("S3_ENDPOINT_URL") or None
    settings = Config(
        connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2, "mode": "standard"},
        # MinIO and most other S3-compatibles answer at one host with the bucket in the path.
        s3={"addressing_style": "path" if endpoint else "auto"},
    )
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name=config.get("S3_REGION") or None, config=settings,
        aws_access_key_id=config.get("S3_ACCESS_KEY_ID") or None,
        aws_secret_access_key=config.get("S3_SECRET_ACCESS_KEY") or None,
    )


def evidence_store() -> EvidenceStore:
    """Return the configured store: the local folder, or the S3 bucket (one client per app, made once)."""
    config = current_app.config
    # settings._check_evidence_storage has made sure the kind is local or s3, and s3 has a bucket and boto3.
    if str(config.get("EVIDENCE_STORAGE") or "local").lower() == "s3":
        # A boto3 client is slow to make and safe to share between threads: keep one with the app.
        client = current_app.extensions.get("pathways_s3")
        if client is None:
            client = current_app.extensions["pathways_s3"] = _s3_client(config)
        return S3Store(client, config["S3_BUCKET"], config.get("S3_PREFIX") or "")
    root = config.get("EVIDENCE_DIR") or os.path.join(current_app.instance_path, "evidence")
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
        raise FileRefused(N_("Pathways accepts photos (JPEG, PNG, WebP, GIF, HEIC), PDF files, audio (MP3, "
                             "M4A, OGG, WAV, WebM) and video (MP4, MOV, WebM). That file is none of these."))
    return content_type


def delete_files(keys: Iterable[str | None]) -> int:
    """Delete stored files by key; return how many were named. Callers delete the files before committing the
    rows' deletion: a store that fails then stops the whole deletion (a 503, tried again later) instead of
    leaving files no row names, which nothing would ever find and delete."""
    names = [key for key in keys if key]
    if names:
        evidence_store().delete_many(names)
    return len(names)


def describe_size(size: int) -> str:
    """Return a size in words a person reads: 10 MB, 640 KB, 12 bytes."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} MB"
    if size >= 1024:
        return f"{size / 1024:.3g} KB"
    return f"{size} bytes"
