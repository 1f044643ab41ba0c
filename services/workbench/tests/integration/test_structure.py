"""The admins' property-structure editor on a whole embedded instance, through the workbench's test client: a
community, a zone with its butler, a building in the zone and a unit, each shown by name; the API's refusals shown
under the field; and a non-admin kept out."""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from guanjia.testing import embedded_instance

ADMIN_PASSWORD = "structure-admin-password-1"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with embedded_instance(tmp_path_factory.mktemp("structure-var"), ADMIN_PASSWORD) as stack:
        yield stack


@pytest.fixture(scope="module")
def token(stack) -> str:
    answer = requests.post(
        stack.url + "/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10
    )
    return answer.json()["access_token"]


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _signed_in(stack, username: str, password: str):
    browser = stack.upstreams["workbench"].wsgi_app.test_client()
    page = browser.get("/signin")
    answer = browser.post("/signin", data={"username": username, "password": password, "csrf_token": _csrf(page.text)})
    assert answer.status_code == 303, answer.text
    return browser


@pytest.fixture(scope="module")
def butler(stack, token) -> dict:
    name = f"陈管家{uuid.uuid4().hex[:4]}"
    answer = requests.post(
        stack.url + "/api/v1/users",
        json={"username": f"b-{uuid.uuid4().hex[:6]}", "display_name": name, "role": "butler",
              "password": "structure-butler-pw-1"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_an_admin_builds_a_community_zone_building_and_unit_by_name(stack, butler):
    browser = _signed_in(stack, "admin", ADMIN_PASSWORD)
    page = browser.get("/admin/structure")
    assert page.status_code == 200 and "物业结构" in page.text and 'id="admin-structure"' in page.text

    name = f"结构小区{uuid.uuid4().hex[:4]}"
    made = browser.post("/admin/structure/communities", data={"name": name, "csrf_token": _csrf(page.text)})
    assert made.status_code == 303
    page = browser.get(made.headers["Location"])
    assert name in page.text and "片区及管家" in page.text
    community_id = re.search(r"community_id=([0-9a-f-]+)", made.headers["Location"]).group(1)

    zoned = browser.post(
        f"/admin/structure/communities/{community_id}/zones",
        data={"name": "东区", "butler_ids": [butler["id"]], "csrf_token": _csrf(page.text)},
    )
    assert zoned.status_code == 303
    page = browser.get(zoned.headers["Location"])
    assert "东区" in page.text and butler["display_name"] in page.text
    zone_id = re.search(r'id="zone-([0-9a-f-]+)"', page.text).group(1)

    built = browser.post(
        f"/admin/structure/communities/{community_id}/buildings",
        data={"name": "8栋", "zone_id": zone_id, "csrf_token": _csrf(page.text)},
    )
    assert built.status_code == 303
    page = browser.get(built.headers["Location"])
    building_id = re.search(r'id="building-([0-9a-f-]+)"', page.text).group(1)
    row = page.text[page.text.index(f'id="building-{building_id}"') :]
    assert "8栋" in row and "东区" in row[: row.index("</td>", row.index("building-zone"))]

    page = browser.get(f"/admin/structure/buildings/{building_id}")
    assert page.status_code == 200 and "8栋" in page.text and name in page.text
    refused = browser.post(
        f"/admin/structure/buildings/{building_id}/units",
        data={"number": "8-101", "floor": "1", "area_m2": "-3", "unit_type": "residential",
              "csrf_token": _csrf(page.text)},
    )  # fmt: skip
    assert refused.status_code == 422 and 'id="area_m2-error"' in refused.text
    added = browser.post(
        f"/admin/structure/buildings/{building_id}/units",
        data={"number": "8-101", "floor": "1", "area_m2": "96.50", "unit_type": "shop",
              "csrf_token": _csrf(refused.text)},
    )  # fmt: skip
    assert added.status_code == 303
    page = browser.get(added.headers["Location"])
    assert "8-101" in page.text and "96.50" in page.text and "商铺" in page.text

    renamed = browser.post(
        f"/admin/structure/zones/{zone_id}",
        data={"name": "东一区", "community_id": community_id, "csrf_token": _csrf(page.text)},
    )  # no butler ticked: the zone has none now
    assert renamed.status_code == 303
    page = browser.get(renamed.headers["Location"])
    zone_row = page.text[page.text.index(f'id="zone-{zone_id}"') :]
    assert "东一区" in zone_row
    assert butler["display_name"] not in zone_row[: zone_row.index("</tr>")].split("zone-butlers")[1].split("<br>")[0]


def test_an_empty_name_is_refused_under_the_field(stack):
    browser = _signed_in(stack, "admin", ADMIN_PASSWORD)
    page = browser.get("/admin/structure")
    refused = browser.post("/admin/structure/communities", data={"name": "", "csrf_token": _csrf(page.text)})
    assert refused.status_code == 422 and 'id="name-error"' in refused.text


def test_a_butler_cannot_change_the_structure(stack, butler):
    browser = _signed_in(stack, butler["username"], "structure-butler-pw-1")
    page = browser.get("/")
    refused = browser.post("/admin/structure/communities", data={"name": "不许", "csrf_token": _csrf(page.text)})
    assert refused.status_code in (403, 422)
