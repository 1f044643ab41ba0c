"""Photos as evidence on a whole embedded instance, through the workbench's test client: a vacancy check recorded
with a photo taken in the empty unit, a site inspection of a renovation with a photo of the site; both shown on
their screens (served by the workbench from the residents API), and a file that is not a photo refused under the
field."""

from __future__ import annotations

import io
import re
import uuid

import pytest
import requests
from PIL import Image

from guanjia.testing import embedded_instance

ADMIN_PASSWORD = "evidence-admin-password-1"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with embedded_instance(tmp_path_factory.mktemp("evidence-var"), ADMIN_PASSWORD) as stack:
        yield stack


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (30, 30, 200)).save(out, "PNG")
    return out.getvalue()


def test_photos_on_a_vacancy_check_and_a_site_inspection(stack):
    token = requests.post(
        stack.url + "/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    def made(path, body, status=201):
        answer = requests.post(stack.url + path, json=body, headers=headers, timeout=10)
        assert answer.status_code == status, answer.text
        return answer.json()

    community = made("/api/v1/communities", {"name": f"证据{uuid.uuid4().hex[:4]}"})
    building = made("/api/v1/buildings", {"community_id": community["id"], "name": "3栋"})
    unit = made("/api/v1/units", {"building_id": building["id"], "number": "2-201", "floor": 2, "area_m2": "80.00"})
    browser = stack.upstreams["workbench"].wsgi_app.test_client()
    page = browser.get("/signin")
    signed = browser.post(
        "/signin", data={"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": _csrf(page.text)}
    )
    assert signed.status_code == 303

    # The vacancy check, with the photo taken in the unit.
    household = f"/household/{unit['id']}"
    page = browser.get(household)
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    form = {"form": "vacancy", "findings": "卫生间渗水", "issues_found": "on", "csrf_token": _csrf(page.text)}
    checked = browser.post(household, data={**form, "photo": (io.BytesIO(_png()), "渗水.png")},
                           content_type="multipart/form-data")  # fmt: skip
    assert checked.status_code == 303, checked.text
    page = browser.get(household).text
    src = re.search(r'src="(/household/[^"]+/vacancy-checks/([^"/]+)/photos/[^"]+)"', page)
    shown = browser.get(src.group(1))
    assert shown.status_code == 200 and shown.content_type == "image/png" and shown.data == _png()
    # A page passed off as a photo: refused under the field, in Chinese; the check keeps its one photo.
    refused = browser.post(f"{household}/vacancy-checks/{src.group(2)}/photos",
                           data={"photo": (io.BytesIO(b"<html>x</html>"), "x.png"), "csrf_token": _csrf(page)},
                           content_type="multipart/form-data")  # fmt: skip
    assert refused.status_code == 422 and 'id="photo-error"' in refused.text
    assert len(re.findall(r'<img src="[^"]+/photos/', refused.text)) == 1

    # A renovation of the unit, approved through the API; the site inspection with a photo on the workbench.
    owner = made(
        "/api/v1/residents", {"unit_id": unit["id"], "name": "业主钱", "phone": "13800138911", "role": "owner"}
    )
    made(f"/api/v1/units/{unit['id']}/move-in", {"resident_id": owner["id"]}, status=200)
    renovation = made("/api/v1/renovations", {
        "unit_id": unit["id"], "applicant_id": owner["id"], "contractor": {"name": "好家装饰", "phone": "13900139911"},
        "items": [{"description": "厨房改造", "structural": False}], "planned_start": "2031-03-01",
        "planned_end": "2031-04-15",
    })  # fmt: skip
    made(f"/api/v1/renovations/{renovation['id']}/review", {"passed": True, "notes": "可行"}, status=200)
    made(f"/api/v1/renovations/{renovation['id']}/approve", {}, status=200)
    detail = f"/renovations/{renovation['id']}"
    page = browser.get(detail).text
    inspected = browser.post(f"{detail}/inspect",
                             data={"findings": "阳台堆放建材", "photo": (io.BytesIO(_png()), "阳台.png"),
                                   "csrf_token": _csrf(page)},
                             content_type="multipart/form-data")  # fmt: skip
    assert inspected.status_code == 303, inspected.text
    page = browser.get(detail).text
    src = re.search(r'src="(/renovations/[^"]+/inspections/[^"]+/photos/[^"]+)"', page).group(1)
    shown = browser.get(src)
    assert shown.status_code == 200 and shown.content_type == "image/png"
    assert "阳台堆放建材" in page and "照片" in page
