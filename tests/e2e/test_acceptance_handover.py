"""Through the gateway (embedded): a defect found at a unit's new-building acceptance in tickets holds its handover
in residents, by the bus, where the community says so; the defect rectified at re-inspection lets it through."""

import time
import uuid

from .conftest import ADMIN_PASSWORD, Client

AC = "/api/v1/tickets/acceptance"


def _until(probe, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
    return found


def test_open_defects_hold_the_handover_until_rectified(embedded_stack):
    admin = Client(embedded_stack.url).login("admin", ADMIN_PASSWORD)
    label = uuid.uuid4().hex[:6]
    community = admin.created("/api/v1/communities", {"name": f"新盘 {label}", "hold_handover_on_defects": True})
    building = admin.created("/api/v1/buildings", {"community_id": community["id"], "name": "9栋"})
    unit = admin.created(
        "/api/v1/units", {"building_id": building["id"], "number": "1-101", "floor": 1, "area_m2": "90.00"}
    )
    owner = admin.created(
        "/api/v1/residents", {"unit_id": unit["id"], "name": "王五", "phone": "13800138077", "role": "owner"}
    )
    username = f"eng-{label}"
    engineer_user = admin.created(
        "/api/v1/users",
        {
            "username": username,
            "password": "engineer-password-1",
            "display_name": "赵工",
            "role": "engineer",
            "communities": [community["id"]],
        },
    )
    engineer = Client(embedded_stack.url).login(username, "engineer-password-1")
    plan = admin.created(
        f"{AC}/plans",
        {
            "community_id": community["id"],
            "building_id": building["id"],
            "name": "9栋承接查验",
            "inspector_ids": [engineer_user["id"]],
            "starts_on": "2031-01-01",
            "ends_on": "2031-01-31",
        },
    )
    results = [{"position": p, "result": "pass"} for p in range(len(plan["checklist"]))]
    results[12] = {
        "position": 12,
        "result": "defect",
        "description": "卫生间闭水渗漏至楼下",
        "responsible_party": "developer",
        "rectify_by": "2031-02-01",
    }
    checked = engineer.created(f"{AC}/plans/{plan['id']}/units/{unit['id']}/inspection", {"results": results})
    defect = checked["defects"][0]

    def defects_known():
        return admin.get(f"/api/v1/units/{unit['id']}").json()["open_acceptance_defects"] == 1

    _until(defects_known, "acceptance.defect_opened reached residents")
    handover = f"/api/v1/units/{unit['id']}/handover"
    held = admin.post(handover, json={"owner_id": owner["id"]})
    assert held.status_code == 409, held.text
    assert held.json()["open_defects"][0]["defect_id"] == defect["id"] and "防水" in held.json()["detail"]

    fixed = engineer.post(f"{AC}/defects/{defect['id']}/reinspect", json={"outcome": "rectified"})
    assert fixed.status_code == 200, fixed.text
    _until(lambda: admin.get(f"/api/v1/units/{unit['id']}").json()["open_acceptance_defects"] == 0, "closed")
    handed = admin.post(handover, json={"owner_id": owner["id"]})
    assert handed.status_code == 200 and handed.json()["status"] == "delivered", handed.text
