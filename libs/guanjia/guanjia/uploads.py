"""Uploaded files: their own size limit, the type proven by content (magic bytes, then decoded), safe serving headers.

One helper for every service that accepts a file (ticket attachments, photos of incidents and patrol findings):
`receive` proves the upload, `keep` (or `keep_row`, for the usual row) stores it in a `LocalFileStore` and writes its
row, `download` serves it; `multipart_doc` is the OpenAPI body of such an upload. A file is accepted only when its bytes are
one of the allowed types — the name and the client's Content-Type are never believed — and it is served back only
as a download that a browser will neither render inline, sniff nor run (no stored XSS through an `x.html` or
`x.svg` waiting for a member of staff to open it).
"""

from __future__ import annotations

import dataclasses
import os
import unicodedata
import uuid
from pathlib import Path

from flask import Response, request, send_file

from .db import new_id
from .errors import Invalid, ProblemError

# What the product needs: phone photos of a repair or a violation, and scanned documents.
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
DOCUMENT_TYPES = ("application/pdf",)
DEFAULT_TYPES = IMAGE_TYPES + DOCUMENT_TYPES
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "application/pdf": ".pdf"}
# Multipart boundaries and the small form fields beside the file.
MULTIPART_OVERHEAD = 64 * 1024
# A 200-megapixel image is larger than any phone takes; beyond it an upload is a decompression bomb.
MAX_PIXELS = 200_000_000
# Served with every download: a file, never a page (no sniffing, no scripts, no plugins, no framing).
DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox; frame-ancestors 'none'",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "private, no-store",
}
_PILLOW_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class TooLarge(ProblemError):
    status = 413
    title = "Request Entity Too Large"


@dataclasses.dataclass
class Upload:
    """A received file whose type was proven by its content; `stream` is positioned at the start."""

    stream: object
    content_type: str
    filename: str
    size: int


def sniff(head: bytes) -> str | None:
    """The type the first bytes of a file announce (of those this module knows), else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def verify(stream, content_type: str) -> None:
    """Prove that `stream` really is a file of `content_type` (ValueError otherwise); the stream is rewound."""
    try:
        if content_type in IMAGE_TYPES:
            _verify_image(stream, content_type)
        elif content_type == "application/pdf":
            _verify_pdf(stream)
        else:
            raise ValueError(f"no check for {content_type}")
    finally:
        stream.seek(0)


def _verify_image(stream, content_type: str) -> None:
    import warnings

    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(stream) as image:
                width, height = image.size
                if _PILLOW_FORMATS.get(image.format) != content_type:
                    raise ValueError("the image is not what its first bytes say")
                if width * height > MAX_PIXELS:
                    raise ValueError("the image has too many pixels")
                image.verify()
            stream.seek(0)
            with Image.open(stream) as image:
                image.load()  # decodes the pixels: a truncated or corrupt file fails here
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise ValueError("the image has too many pixels") from None
        except ValueError:
            raise
        except Exception as exc:  # Pillow raises many kinds for a broken file
            raise ValueError(f"not a readable image ({exc.__class__.__name__})") from None


def _verify_pdf(stream) -> None:
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(max(0, size - 2048))
    if b"%%EOF" not in stream.read():
        raise ValueError("not a complete PDF document")


def safe_filename(name: str | None, content_type: str) -> str:
    """The base name without path, control characters or bidi tricks, ending in the extension of the real type."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .") or "file"
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return stem[:150] + EXTENSIONS.get(content_type, ".bin")


def receive(field: str = "file", *, max_bytes: int, allowed=DEFAULT_TYPES) -> Upload:
    """The multipart file `field` of this request, under its own size limit, accepted only if its bytes are one of
    `allowed` (magic bytes, then decoded). 413 above `max_bytes`; 422 naming `field` for any other type.

    Call it before anything else reads the body: the request's size limit is raised to `max_bytes` for this
    request only (every other request keeps the JSON body limit).
    """
    request.max_content_length = max_bytes + MULTIPART_OVERHEAD
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise Invalid(field, f"a multipart file field named {field} is required")
    stream = upload.stream
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    if size > max_bytes:
        raise TooLarge(f"{field} is larger than {max_bytes} bytes", errors={field: [f"at most {max_bytes} bytes"]})
    if size == 0:
        raise Invalid(field, "the file is empty")
    content_type = sniff(stream.read(16))
    stream.seek(0)
    if content_type is None or content_type not in allowed:
        raise Invalid(field, "only " + ", ".join(EXTENSIONS[t].lstrip(".").upper() for t in allowed) + " files")
    try:
        verify(stream, content_type)
    except ValueError as exc:
        raise Invalid(field, str(exc)) from None
    return Upload(stream, content_type, safe_filename(upload.filename, content_type), size)


def download(path, content_type: str | None, filename: str, allowed=DEFAULT_TYPES) -> Response:
    """Serve a stored file as a download only (`Content-Disposition: attachment`), with DOWNLOAD_HEADERS.

    A stored type outside `allowed` (a file kept before types were checked) goes out as application/octet-stream.
    """
    mimetype = content_type if content_type in allowed else "application/octet-stream"
    response = send_file(path, mimetype=mimetype, as_attachment=True, download_name=safe_filename(filename, mimetype))
    response.headers.update(DOWNLOAD_HEADERS)
    return response


class LocalFileStore:
    """Files under one folder, named by a generated key (never by the uploaded file name)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def put(self, stream, max_bytes: int) -> tuple[str, int]:
        """Store the stream; returns (storage key, size). Raises ValueError above max_bytes (nothing is kept)."""
        key = f"{uuid.uuid4().hex[:2]}/{uuid.uuid4()}"
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        try:
            with path.open("wb") as out:
                while chunk := stream.read(64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise ValueError(f"larger than {max_bytes} bytes")
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return key, size

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("bad storage key")
        return path

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


def keep(database, store: LocalFileStore, upload: Upload, max_bytes: int, write_row):
    """Store a proven upload, then `write_row(session, storage_key, size)` in its own transaction (returns what it
    returns). The file is written outside a transaction; a row that fails to commit removes the file again, so
    there is never a file without its row."""
    key, size = store.put(upload.stream, max_bytes)
    try:
        with database.transaction() as session:
            return write_row(session, key, size)
    except Exception:
        store.delete(key)
        raise


def keep_row(database, store: LocalFileStore, upload: Upload, max_bytes: int, model, *, uploaded_by: str, now,
             **columns):  # fmt: skip
    """`keep` with the row every kept file has: `model(id, storage_key, filename, content_type, size, uploaded_by,
    created_at, **columns)` — the type is what the bytes proved, never what the client said. Returns the row."""

    def write_row(session, key, size):
        row = model(
            id=new_id(),
            storage_key=key,
            filename=upload.filename[:200],
            content_type=upload.content_type,
            size=size,
            uploaded_by=uploaded_by,
            created_at=now,
            **columns,
        )
        session.add(row)
        return row

    return keep(database, store, upload, max_bytes, write_row)


def multipart_doc(*fields: str) -> dict:
    """The OpenAPI request body of an upload (for `blueprint.doc(**…)`): the required file `file` and the optional
    string `fields` beside it."""
    properties = {"file": {"type": "string", "format": "binary"}, **{name: {"type": "string"} for name in fields}}
    schema = {"type": "object", "properties": properties, "required": ["file"]}
    return {"requestBody": {"content": {"multipart/form-data": {"schema": schema}}}}
