"""The new-building acceptance screens on a whole embedded instance, through the workbench's test client: a manager
plans a building's acceptance with an inspector shown by name, the inspector works a unit's checklist on the phone
(a refusal shown under the item, a defect with a photo), the progress follows, the defect list downloads as XLSX and
a re-inspection closes the defect."""

from __future__ import annotations

import io
import re
import uuid

import pytest
import requests
from openpyxl import load_workbook
from PIL import Image

from guanjia.testing import embedded_instance

ADMIN_PASSWORD = "acceptance-admin-password-1"
ENGINEER_PASSWORD = "acceptance-engineer-pw-1"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with embedded_instance(tmp_path_factory.mktemp("acceptance-var"), ADMIN_PASSWORD) as stack:
        yield stack


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _signed_in(stack, username: str, password: str):
    browser = stack.upstreams["workbench"].wsgi_app.test_client()
    page = browser.get("/signin")
    answer = browser.post("/signin", data={"username": username, "password": password, "csrf_token": _csrf(page.text)})
    assert answer.status_code == 303, answer.text
    return browser


@pytest.fixture(scope="module")
def estate(stack) -> dict:
    """A community with a building of two units and an engineer of the community, made through the API."""
    token = requests.post(
        stack.url + "/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    def made(path, body):
        answer = requests.post(stack.url + path, json=body, headers=headers, timeout=10)
        assert answer.status_code == 201, answer.text
        return answer.json()

    community = made("/api/v1/communities", {"name": f"新盘{uuid.uuid4().hex[:4]}"})
    building = made("/api/v1/buildings", {"community_id": community["id"], "name": "9栋"})
    units = [
        made("/api/v1/units", {"building_id": building["id"], "number": n, "floor": 1, "area_m2": "90.00"})
        for n in ("1-101", "1-102")
    ]
    engineer = made(
        "/api/v1/users",
        {"username": f"eng-{uuid.uuid4().hex[:6]}", "password": ENGINEER_PASSWORD, "display_name": "赵工程师",
         "role": "engineer", "communities": [community["id"]]},
    )  # fmt: skip
    return {"community": community, "building": building, "units": units, "engineer": engineer}


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def test_a_building_is_planned_inspected_on_the_phone_and_its_defects_listed(stack, estate):
    manager = _signed_in(stack, "admin", ADMIN_PASSWORD)
    page = manager.get("/acceptance")
    assert (
        page.status_code == 200 and "新楼验收" in page.text and "赵工程师" in page.text and "默认验收清单" in page.text
    )
    form = {
        "building_id": estate["building"]["id"],
        "name": "9栋承接查验",
        "starts_on": "2031-01-10",
        "ends_on": "2031-01-01",
        "inspector_ids": [estate["engineer"]["id"]],
        "template_id": "default",
        "csrf_token": _csrf(page.text),
    }
    refused = manager.post("/acceptance", data=form)
    assert refused.status_code == 422 and 'id="ends_on-error"' in refused.text  # the API's field, under the field
    made = manager.post("/acceptance", data={**form, "ends_on": "2031-01-31"})
    assert made.status_code == 303, made.text
    plan_path = made.headers["Location"]
    plan = manager.get(plan_path).text
    assert "赵工程师" in plan and "0 / 2" in plan and "9栋1-101" in plan

    # The inspector's phone: the checklist by category, in Chinese.
    engineer = _signed_in(stack, estate["engineer"]["username"], ENGINEER_PASSWORD)
    unit_id = estate["units"][0]["id"]
    checklist_path = f"{plan_path}/units/{unit_id}"
    page = engineer.get(checklist_path)
    assert (
        page.status_code == 200
        and "墙面天花" in page.text
        and "防水" in page.text
        and 'id="checklist-form"' in page.text
    )
    defect = {"result-0": "defect", "description-0": "客厅墙面空鼓", "responsible_party-0": "contractor"}
    refused = engineer.post(checklist_path, data={**defect, "csrf_token": _csrf(page.text)})
    assert refused.status_code == 422
    item = refused.text[refused.text.index('id="item-0"') : refused.text.index('id="item-1"')]
    assert "field-error" in item and "客厅墙面空鼓" in item  # the refusal under the item, what was typed kept
    done = engineer.post(
        checklist_path,
        data={**defect, "rectify_by-0": "2031-02-01", "photo-0": (io.BytesIO(_png()), "空鼓.png"),
              "csrf_token": _csrf(refused.text)},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert done.status_code == 303, done.text
    page = engineer.get(checklist_path).text
    assert "已查验" in page and "施工单位" in page and "客厅墙面空鼓" in page
    photo = re.search(r'src="(/acceptance/defects/[^"]+/photos/[^"]+)"', page).group(1)
    shown = engineer.get(photo)
    assert shown.status_code == 200 and shown.content_type == "image/png"
    assert "1 / 2" in manager.get(plan_path).text

    # The defect list and its XLSX for the developer.
    listed = manager.get(f"{plan_path}/defects")
    assert listed.status_code == 200 and "客厅墙面空鼓" in listed.text and "待整改" in listed.text
    xlsx = manager.get(f"{plan_path}/defects.xlsx")
    assert xlsx.status_code == 200 and xlsx.content_type.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(io.BytesIO(xlsx.data)).active.values)
    assert rows[0][1] == "房号" and rows[1][1] == "9栋1-101" and rows[1][5] == "施工单位"

    # Re-inspection on the phone closes it.
    defect_id = re.search(r'id="defect-([0-9a-f-]+)"', page).group(1)
    fixed = engineer.post(
        f"/acceptance/defects/{defect_id}/reinspect", data={"outcome": "rectified", "csrf_token": _csrf(page)}
    )
    assert fixed.status_code == 303
    assert "已整改" in manager.get(f"{plan_path}/defects").text
