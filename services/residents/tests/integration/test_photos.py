"""Photos of renovation site inspections and of vacancy checks: proven by their content, kept in the service's file
store, listed on their inspection or check, served back as a download; only to the staff who inspect or check."""

import io
import uuid

import pytest

from residents.models import Photo


def _png(colour="red") -> bytes:
    from PIL import Image

    photo = io.BytesIO()
    Image.new("RGB", (4, 3), colour).save(photo, "PNG")
    return photo.getvalue()


def _upload(client, path, headers, content, name="site.png"):
    return client.post(path, headers=headers, data={"file": (io.BytesIO(content), name, "image/png")},
                       content_type="multipart/form-data")  # fmt: skip


def _files(residents_app):
    return sorted(p for p in residents_app.extensions["residents.files"].root.rglob("*") if p.is_file())


@pytest.fixture
def inspection(client, as_role, place, register):
    """An approved renovation of the place's unit and one site inspection of it."""
    owner = register(place, name="业主周", phone="13800138700")
    client.post(f"/api/v1/units/{place['unit_id']}/move-in", headers=place["staff"], json={"resident_id": owner["id"]})
    me = as_role("resident", units=[place["unit_id"]], resident_id=owner["id"])
    renovation = client.post(
        "/api/v1/renovations",
        headers=me,
        json={
            "unit_id": place["unit_id"],
            "applicant_id": owner["id"],
            "contractor": {"name": "好家装饰", "phone": "13900139700"},
            "workers": [],
            "items": [{"description": "厨房改造", "structural": False}],
            "planned_start": "2030-03-01",
            "planned_end": "2030-04-15",
        },
    ).json
    base = f"/api/v1/renovations/{renovation['id']}"
    engineer = as_role("engineer", communities=[place["community_id"]])
    assert client.post(f"{base}/review", headers=engineer, json={"passed": True, "notes": "可行"}).status_code == 200
    assert client.post(f"{base}/approve", headers=place["manager"]).status_code == 200
    made = client.post(f"{base}/inspections", headers=place["staff"], json={"findings": "阳台堆放建材"})
    assert made.status_code == 201, made.json
    assert made.json["photos"] == []
    return {"base": base, "id": made.json["id"], "resident": me}


def test_photos_of_an_inspection(client, as_role, place, inspection, count, residents_app):
    path = f"{inspection['base']}/inspections/{inspection['id']}/photos"
    png = _png()
    made = _upload(client, path, place["staff"], png)
    assert made.status_code == 201, made.json
    assert made.json["content_type"] == "image/png" and made.json["size"] == len(png)
    listed = client.get(f"{inspection['base']}/inspections", headers=place["staff"]).json
    assert [p["id"] for p in listed[0]["photos"]] == [made.json["id"]]
    content = client.get(f"{path}/{made.json['id']}/content", headers=place["staff"])
    assert content.status_code == 200 and content.data == png
    assert content.headers["Content-Disposition"].startswith("attachment")
    assert content.headers["X-Content-Type-Options"] == "nosniff"

    # A page or a PDF pretending to be a photo: 422 naming `file`, no row and no file kept.
    rows, files = count(Photo), _files(residents_app)
    page = _upload(client, path, place["staff"], b"<html><script>x</script>", "x.png")
    assert page.status_code == 422 and "file" in page.json["errors"]
    pdf = _upload(client, path, place["staff"], b"%PDF-1.4\n%%EOF\n", "x.pdf")
    assert pdf.status_code == 422 and "file" in pdf.json["errors"]
    assert count(Photo) == rows and _files(residents_app) == files

    # A butler of another zone, another community's manager: 404; the household and integrators: 403.
    other_zone = as_role("butler", communities=[place["community_id"]], zones=[str(uuid.uuid4())])
    stranger = as_role("cs_manager", communities=[str(uuid.uuid4())])
    integrator = as_role("integrator", communities=[place["community_id"]])
    for headers, status in ((other_zone, 404), (stranger, 404), (integrator, 403), (inspection["resident"], 403)):
        assert _upload(client, path, headers, png).status_code == status
        assert client.get(f"{path}/{made.json['id']}/content", headers=headers).status_code == status
    # The household still reads its inspections, without the pictures.
    theirs = client.get(f"{inspection['base']}/inspections", headers=inspection["resident"]).json
    assert theirs[0]["photos"] == []
    # Under another inspection id the photo is not there.
    wrong = f"{inspection['base']}/inspections/{uuid.uuid4()}/photos"
    assert client.get(f"{wrong}/{made.json['id']}/content", headers=place["staff"]).status_code == 404
    assert _upload(client, wrong, place["staff"], png).status_code == 404
    assert count(Photo) == rows


def test_photos_of_a_vacancy_check(client, as_role, place, count, residents_app):
    unit = f"/api/v1/units/{place['unit_id']}"
    check = client.post(
        f"{unit}/vacancy-checks", headers=place["staff"], json={"issues_found": True, "findings": "卫生间漏水"}
    )
    assert check.status_code == 201 and check.json["photos"] == []
    path = f"{unit}/vacancy-checks/{check.json['id']}/photos"
    jpeg = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (4, 3), "blue").save(jpeg, "JPEG")
    made = _upload(client, path, place["staff"], jpeg.getvalue(), "leak.jpg")
    assert made.status_code == 201 and made.json["content_type"] == "image/jpeg"
    listed = client.get(f"{unit}/vacancy-checks", headers=place["staff"]).json
    assert [p["id"] for p in listed[0]["photos"]] == [made.json["id"]]
    assert listed[0]["photos"][0]["uploaded_by"]
    content = client.get(f"{path}/{made.json['id']}/content", headers=place["staff"])
    assert content.status_code == 200 and content.data == jpeg.getvalue()
    assert content.headers["X-Content-Type-Options"] == "nosniff" and content.mimetype == "image/jpeg"

    rows, files = count(Photo), _files(residents_app)
    bad = _upload(client, path, place["staff"], b"GIF89a not a photo", "x.png")
    assert bad.status_code == 422 and "file" in bad.json["errors"]
    missing = client.post(path, headers=place["staff"], data={}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "file" in missing.json["errors"]
    other_zone = as_role("butler", communities=[place["community_id"]], zones=[str(uuid.uuid4())])
    assert _upload(client, path, other_zone, jpeg.getvalue()).status_code == 404
    assert client.get(f"{path}/{made.json['id']}/content", headers=other_zone).status_code == 404
    integrator = as_role("integrator", communities=[place["community_id"]])
    assert _upload(client, path, integrator, jpeg.getvalue()).status_code == 403
    assert client.get(f"{path}/{made.json['id']}/content", headers=integrator).status_code == 403
    engineer = as_role("engineer", communities=[place["community_id"]])
    assert _upload(client, path, engineer, jpeg.getvalue()).status_code == 403
    assert count(Photo) == rows and _files(residents_app) == files
