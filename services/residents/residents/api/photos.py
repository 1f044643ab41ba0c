"""What the photo routes of inspections and vacancy checks share: receive and keep an upload (guanjia.uploads), serve
one back as a download, and show the photos on their inspection or check."""

from __future__ import annotations

from flask import current_app

from guanjia import uploads, web
from guanjia.display import annotate

from ..domain import display, photos


def files() -> uploads.LocalFileStore:
    return current_app.extensions["residents.files"]


def add(kind: str, subject_id: str, check):
    """Receive a photo (JPEG, PNG, WebP; the type proven by its content, up to GUANJIA_MAX_UPLOAD_BYTES, multipart
    field `file`) and keep it once `check(session)` has proven the caller may."""
    settings = web.settings()
    upload = uploads.receive("file", max_bytes=settings.max_upload_bytes, allowed=uploads.IMAGE_TYPES)
    photo = photos.add(
        web.database(),
        files(),
        web.principal(),
        kind,
        subject_id,
        upload,
        settings.max_upload_bytes,
        web.now(),
        check=check,
    )
    return annotate(photo, [uploader()])


def content(kind: str, subject_id: str, photo_id: str, check):
    """The photo's bytes as a download (nosniff, a sandboxing CSP: guanjia.uploads.download)."""
    with web.database().transaction() as session:
        check(session)
        photo = photos.find(session, kind, subject_id, photo_id)
    return uploads.download(files().path(photo.storage_key), photo.content_type, photo.filename, uploads.IMAGE_TYPES)


def uploader():
    return display.staff("uploaded_by", "uploaded_by_name")


def with_photos(session, kind: str, rows: list[dict]) -> list[dict]:
    """Each row (an inspection or a check, as a dict with its `id`) with its `photos`, for those who may see them."""
    found = photos.photos_by_subject(session, web.principal(), kind, [row["id"] for row in rows])
    for row in rows:
        row["photos"] = found.get(row["id"], [])
    return rows
