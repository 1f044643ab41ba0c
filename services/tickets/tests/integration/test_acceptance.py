"""新楼验收 / 承接查验: a building's plan with inspectors and dates, per-unit checklists from the default template,
defects with photos, the responsible party and a deadline, re-inspection, progress, and the developer's XLSX."""

import io
import uuid
from datetime import UTC, datetime

from openpyxl import load_workbook
from PIL import Image

from guanjia.testing import auth_header, wait_until

AC = "/api/v1/tickets/acceptance"
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def _building(publish, settings, db, world, count=2):
    """A new building of the world's community and zone with `count` units, projected."""
    from tickets.models import Unit

    building_id = str(uuid.uuid4())
    unit_ids = [str(uuid.uuid4()) for _ in range(count)]
    for number, unit_id in enumerate(unit_ids, start=1):
        data = {
            "unit_id": unit_id,
            "community_id": world["community_id"],
            "building_id": building_id,
            "number": f"1-{100 + number}",
            "label": f"9栋1-{100 + number}",
            "zone_id": world["zone_id"],
            "floor": 1,
            "area_m2": "90.00",
        }
        publish(settings, "unit.created", data)

    def projected():
        with db.transaction() as s:
            return all(s.get(Unit, u) is not None for u in unit_ids)

    wait_until(projected, message="units projected")
    return building_id, unit_ids


def _plan(client, world, building_id, inspector, status=201, **changes):
    body = {
        "community_id": world["community_id"],
        "building_id": building_id,
        "name": "9栋承接查验",
        "inspector_ids": [inspector],
        "starts_on": "2026-12-02",
        "ends_on": "2026-12-10",
        **changes,
    }
    response = client.post(f"{AC}/plans", headers=world["manager"], json=body)
    assert response.status_code == status, response.json
    return response.json


def _results(items, defects: dict):
    """A pass for every item but those in `defects` (position → defect fields)."""
    results = []
    for position in range(len(items)):
        if position in defects:
            results.append({"position": position, "result": "defect", **defects[position]})
        else:
            results.append({"position": position, "result": "pass"})
    return results


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), "red").save(out, "PNG")
    return out.getvalue()


def test_a_building_is_accepted_unit_by_unit_and_its_defects_rectified(
    client, world, staff_user, clock, publish, tickets_settings, db, outbox_events
):
    clock.set(NOW)
    building_id, (first, second) = _building(publish, tickets_settings, db, world)
    engineer_id = staff_user(world["community_id"], "engineer")
    engineer = auth_header(tickets_settings, "engineer", communities=[world["community_id"]], subject=engineer_id)

    # Bad input names the field; nothing is written.
    assert "inspector_ids" in str(_plan(client, world, building_id, str(uuid.uuid4()), status=422))
    assert "ends_on" in str(_plan(client, world, building_id, engineer_id, status=422, ends_on="2026-11-30"))
    assert (
        client.get(f"{AC}/plans", headers=world["manager"], query_string={"building_id": building_id}).json["total"]
        == 0
    )
    plan = _plan(client, world, building_id, engineer_id)
    assert plan["status"] == "open" and plan["inspector_ids"] == [engineer_id]
    assert {i["category"] for i in plan["checklist"]} == {
        "walls_ceilings",
        "doors_windows",
        "plumbing_drainage",
        "electrical",
        "waterproofing",
        "fittings",
    }
    assert plan["progress"] == {
        "units_total": 2,
        "units_inspected": 0,
        "units_pending": 2,
        "defects_open": 0,
        "defects_closed": 0,
        "percent_inspected": 0,
    }
    assert [u["unit_label"] for u in plan["units"]] == ["9栋1-101", "9栋1-102"]
    again = _plan(client, world, building_id, engineer_id, status=409)  # one plan under way per building
    assert "building_id" in str(again)

    items = plan["checklist"]
    checklist = f"{AC}/plans/{plan['id']}/units/{first}"
    shown = client.get(checklist, headers=engineer).json
    assert shown["inspected"] is False and shown["allowed_actions"] == ["inspect"]
    assert len(shown["checklist"]) == len(items) and shown["checklist"][0]["result"] is None

    # A defect without its deadline, a missing item, a deadline in the past: each names its field.
    crack = {"description": "客厅墙面空鼓约0.5㎡", "responsible_party": "contractor", "rectify_by": "2026-12-20"}
    incomplete = {"results": _results(items, {0: {**crack, "rectify_by": None}})}
    incomplete["results"][0].pop("rectify_by")
    response = client.post(f"{checklist}/inspection", headers=engineer, json=incomplete)
    assert response.status_code == 422 and "results.0.rectify_by" in response.json["errors"]
    short = {"results": _results(items, {})[:-1]}
    response = client.post(f"{checklist}/inspection", headers=engineer, json=short)
    assert response.status_code == 422 and "results" in response.json["errors"]
    past = {"results": _results(items, {0: {**crack, "rectify_by": "2026-11-01"}})}
    assert "results.0.rectify_by" in client.post(f"{checklist}/inspection", headers=engineer, json=past).json["errors"]
    # Only the plan's inspectors (or a supervisor) inspect.
    good = {
        "results": _results(
            items, {0: crack, 12: {**crack, "description": "卫生间闭水渗漏", "responsible_party": "developer"}}
        )
    }
    assert client.post(f"{checklist}/inspection", headers=world["butler"], json=good).status_code == 403

    inspected = client.post(f"{checklist}/inspection", headers=engineer, json=good)
    assert inspected.status_code == 201, inspected.json
    found = inspected.json
    assert found["inspected"] is True and found["allowed_actions"] == []
    assert [d["position"] for d in found["defects"]] == [0, 12]
    assert found["checklist"][0]["result"] == "defect" and found["checklist"][1]["result"] == "pass"
    assert client.post(f"{checklist}/inspection", headers=engineer, json=good).status_code == 409
    leak, crack_defect = found["defects"][1], found["defects"][0]
    opened = outbox_events(f"acceptance_defect/{leak['id']}", "acceptance.defect_opened")
    assert opened and opened[0]["data"]["unit_id"] == first and opened[0]["data"]["category"] == "waterproofing"
    assert "闭水渗漏" not in str(opened[0]["data"])  # the item's name, not the inspector's words

    # A photo of the defect: an image only, proven by its bytes.
    photos = f"{AC}/defects/{leak['id']}/photos"
    bad = client.post(photos, headers=engineer, data={"file": (io.BytesIO(b"<html>"), "x.png")})
    assert bad.status_code == 422 and "file" in bad.json["errors"]
    photo = client.post(photos, headers=engineer, data={"file": (io.BytesIO(_png()), "渗漏.png")})
    assert photo.status_code == 201, photo.json
    content = client.get(f"{photos}/{photo.json['id']}/content", headers=world["manager"])
    assert content.status_code == 200 and content.headers["X-Content-Type-Options"] == "nosniff"
    assert len(client.get(f"{AC}/defects/{leak['id']}", headers=engineer).json["photos"]) == 1

    # The second unit passes; progress follows.
    second_list = f"{AC}/plans/{plan['id']}/units/{second}/inspection"
    assert client.post(second_list, headers=engineer, json={"results": _results(items, {})}).status_code == 201
    progress = client.get(f"{AC}/plans/{plan['id']}", headers=world["manager"]).json["progress"]
    assert progress["units_inspected"] == 2 and progress["defects_open"] == 2 and progress["percent_inspected"] == 100

    # Another community's staff, or a butler of another zone, do not see the defect, its photo, nor change it.
    strangers = (
        auth_header(tickets_settings, "cs_manager", communities=[str(uuid.uuid4())]),
        auth_header(tickets_settings, "butler", communities=[world["community_id"]], zones=[str(uuid.uuid4())]),
    )
    for headers in strangers:
        assert client.get(f"{AC}/defects/{leak['id']}", headers=headers).status_code == 404
        assert client.get(f"{photos}/{photo.json['id']}/content", headers=headers).status_code == 404
        assert (
            client.post(
                f"{AC}/defects/{leak['id']}/reinspect", headers=headers, json={"outcome": "rectified"}
            ).status_code
            == 404
        )
        assert client.get(f"{AC}/defects", headers=headers, query_string={"plan_id": plan["id"]}).json["total"] == 0
    assert client.get(f"{AC}/defects/{leak['id']}", headers=world["resident"]).status_code == 403

    # Re-inspection: still open (with a new deadline), then rectified; a closed defect is 409 with no actions.
    reinspect = f"{AC}/defects/{leak['id']}/reinspect"
    still = client.post(reinspect, headers=engineer, json={"outcome": "still_open", "rectify_by": "2026-12-28"})
    assert still.status_code == 200 and still.json["reinspections"] == 1 and still.json["rectify_by"] == "2026-12-28"
    wrong = client.post(reinspect, headers=engineer, json={"outcome": "rectified", "rectify_by": "2026-12-28"})
    assert wrong.status_code == 422 and "rectify_by" in wrong.json["errors"]
    done = client.post(reinspect, headers=engineer, json={"outcome": "rectified", "note": "复查闭水48小时无渗漏"})
    assert done.status_code == 200 and done.json["status"] == "closed" and done.json["allowed_actions"] == []
    assert outbox_events(f"acceptance_defect/{leak['id']}", "acceptance.defect_closed")
    closed = client.post(reinspect, headers=engineer, json={"outcome": "rectified"})
    assert closed.status_code == 409 and closed.json["allowed_actions"] == []

    # The developer's list: JSON by filter, and XLSX with Chinese headers.
    listed = client.get(
        f"{AC}/defects", headers=world["manager"], query_string={"plan_id": plan["id"], "status": "open"}
    ).json
    assert [d["id"] for d in listed["items"]] == [crack_defect["id"]] and listed["items"][0]["unit_label"] == "9栋1-101"
    xlsx = client.get(f"{AC}/defects", headers=world["manager"], query_string={"plan_id": plan["id"], "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(io.BytesIO(xlsx.data)).active.values)
    assert rows[0][:6] == ("序号", "房号", "类别", "检查项", "问题描述", "责任方")
    assert {r[5] for r in rows[1:]} == {"施工单位", "开发商"} and {r[7] for r in rows[1:]} == {"待整改", "已整改"}

    # Closing the plan: supervisors only, once.
    close = f"{AC}/plans/{plan['id']}/close"
    assert client.post(close, headers=engineer, json={}).status_code == 403
    assert client.post(close, headers=world["manager"], json={}).json["allowed_actions"] == []
    assert client.post(close, headers=world["manager"], json={}).status_code == 409


def test_acceptance_is_seen_within_the_community_and_zone(
    client, world, staff_user, publish, tickets_settings, db, staff
):
    building_id, (unit_id, _) = _building(publish, tickets_settings, db, world)
    plan = _plan(client, world, building_id, staff_user(world["community_id"], "engineer"))
    path = f"{AC}/plans/{plan['id']}"
    s = tickets_settings
    other_zone = auth_header(s, "butler", communities=[world["community_id"]], zones=[str(uuid.uuid4())])
    other_community = staff(s, str(uuid.uuid4()))
    assert client.get(path, headers=world["butler"]).status_code == 200  # the building's zone is theirs
    for headers in (other_zone, other_community):
        assert client.get(path, headers=headers).status_code == 404
        assert client.get(f"{path}/units/{unit_id}", headers=headers).status_code == 404
        listed = client.get(f"{AC}/plans", headers=headers, query_string={"community_id": world["community_id"]})
        assert listed.json["total"] == 0
    assert client.get(path, headers=world["resident"]).status_code == 403
    assert (
        client.get(f"{path}/units/{world['unit_id']}", headers=world["manager"]).status_code == 404
    )  # not its building
    templates = client.get(
        f"{AC}/templates", headers=world["manager"], query_string={"community_id": world["community_id"]}
    )
    assert templates.json["items"][0]["id"] == "default"
    assert (
        client.get(
            f"{AC}/templates", headers=other_community, query_string={"community_id": world["community_id"]}
        ).status_code
        == 404
    )


def test_a_community_template_gives_the_plan_its_items(client, world, staff_user, publish, tickets_settings, db):
    building_id, _ = _building(publish, tickets_settings, db, world, count=1)
    body = {
        "community_id": world["community_id"],
        "name": "精装修交付清单",
        "items": [{"category": "fittings", "item": "橱柜、台面完好"}, {"category": "electrical", "item": "地暖试运行"}],
    }
    bad = client.post(
        f"{AC}/templates", headers=world["manager"], json={**body, "items": [{"category": "roof", "item": "x"}]}
    )
    assert bad.status_code == 422 and "items" in str(bad.json["errors"])
    assert client.post(f"{AC}/templates", headers=world["butler"], json=body).status_code == 403
    template = client.post(f"{AC}/templates", headers=world["manager"], json=body).json
    engineer_id = staff_user(world["community_id"], "engineer")
    unknown = _plan(client, world, building_id, engineer_id, status=422, template_id=str(uuid.uuid4()))
    assert "template_id" in str(unknown)
    plan = _plan(client, world, building_id, engineer_id, template_id=template["id"])
    assert [i["item"] for i in plan["checklist"]] == ["橱柜、台面完好", "地暖试运行"]
