"""guanjia.uploads: types proven by content, bounded pixels and bytes, safe names, downloads that never render."""

import io

import pytest
from flask import Flask
from PIL import Image

from guanjia import uploads
from guanjia.errors import Invalid, ProblemError


def _image(kind: str, size=(16, 16)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "green").save(out, kind)
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_image("JPEG"), "image/jpeg"),
        (_image("PNG"), "image/png"),
        (_image("WEBP"), "image/webp"),
        (PDF, "application/pdf"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"<!doctype html><script>", None),
        (_image("GIF"), None),  # not a type the product needs
    ],
)
def test_sniff_names_the_type_the_bytes_announce(data, expected):
    assert uploads.sniff(data[:16]) == expected


def test_verify_decodes_the_image_and_refuses_what_is_not_one():
    uploads.verify(io.BytesIO(_image("PNG")), "image/png")
    for data, kind in (
        (_image("PNG")[:60], "image/png"),  # truncated
        (b"\xff\xd8\xff" + b"<html>" * 50, "image/jpeg"),  # a page behind a JPEG signature
        (_image("PNG"), "image/jpeg"),  # bytes of one type declared as another
        (b"%PDF-1.4 no end", "application/pdf"),
    ):
        with pytest.raises(ValueError):
            uploads.verify(io.BytesIO(data), kind)


def test_a_decompression_bomb_is_refused(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_PIXELS", 10_000)
    with pytest.raises(ValueError, match="too many pixels"):
        uploads.verify(io.BytesIO(_image("PNG", (200, 200))), "image/png")


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        ("../../etc/passwd", "image/png", "passwd.png"),
        ("C:\\photos\\漏水.JPG", "image/jpeg", "漏水.jpg"),
        ("x.html", "image/png", "x.png"),
        ("evil\u202egpj.exe", "image/jpeg", "evilgpj.jpg"),  # the bidi override is gone
        ("", "application/pdf", "file.pdf"),
    ],
)
def test_safe_filename_keeps_a_base_name_with_the_real_extension(name, kind, expected):
    assert uploads.safe_filename(name, kind) == expected


def _app():
    app = Flask("t")
    app.config["MAX_CONTENT_LENGTH"] = 1024  # the JSON body limit

    @app.post("/up")
    def up():
        try:
            got = uploads.receive("file", max_bytes=200_000)
        except ProblemError as exc:
            return {"status": exc.status, "errors": exc.errors}, exc.status
        return {"type": got.content_type, "name": got.filename, "size": got.size}

    return app


def test_receive_has_its_own_limit_above_the_json_body_limit():
    photo = _image("JPEG", (300, 300))
    assert len(photo) > 1024
    client = _app().test_client()
    ok = client.post("/up", data={"file": (io.BytesIO(photo), "a.jpeg", "text/html")})
    assert ok.status_code == 200 and ok.json == {"type": "image/jpeg", "name": "a.jpg", "size": len(photo)}
    big = client.post("/up", data={"file": (io.BytesIO(photo + b"\0" * 200_000), "b.jpg", "image/jpeg")})
    assert big.status_code == 413
    html = client.post("/up", data={"file": (io.BytesIO(b"<html></html>"), "x.jpg", "image/jpeg")})
    assert html.status_code == 422 and "file" in html.json["errors"]


def test_receive_names_the_field_when_it_is_missing():
    with _app().test_request_context("/up", method="POST", data={}):
        with pytest.raises(Invalid) as raised:
            uploads.receive("file", max_bytes=100)
    assert "file" in raised.value.errors


def test_downloads_are_attachments_that_never_render(tmp_path):
    path = tmp_path / "stored"
    path.write_bytes(b"<script>alert(1)</script>")
    with Flask("t").test_request_context("/"):
        # A file stored before types were checked keeps its old type in the database: it goes out as bytes.
        response = uploads.download(path, "text/html", "x.html")
        assert response.mimetype == "application/octet-stream"
        assert response.headers["Content-Disposition"] == "attachment; filename=x.bin"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]
        assert "no-store" in response.headers["Cache-Control"]
        response.close()
