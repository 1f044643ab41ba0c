"""Roster import (XLSX, CSV) and export on real PostgreSQL: dry run, all-or-nothing, idempotent re-import."""

import io
import json

import openpyxl
import pytest
from sqlalchemy import select

from residents.events import PUBLISHED
from residents.models import Building, Resident, Unit, outbox

ID = "11010519491231002X"


def _xlsx(sheets: dict) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


ROSTER = {
    "buildings": [["name", "zone"], ["2栋", "北区"]],
    "units": [
        ["building", "number", "floor", "unit_type", "gross_area_m2", "inner_area_m2"],
        ["2栋", "2-101", 1, "residential", 88.5, "70.25"],
        ["2栋", "2-102", 1, "住宅", "90", None],
        ["车库", "P-001", -1, "parking", "12.50", None],
    ],
    "residents": [
        ["楼栋", "房屋", "姓名", "手机", "身份", "身份证号", "标签", "备注"],
        ["2栋", "2-101", "赵一", 13800138600, "业主", ID, "living_alone,elderly", "独居"],
        ["2栋", "2-101", "赵二", "13800138601", "family", None, None, None],
        ["2栋", "2-102", "钱三", "+8613800138602", "tenant", None, "key_customer", None],
    ],
}


@pytest.fixture
def upload(client, place):
    def _upload(content, *, dry_run=False, kind=None, headers=None):
        query = {"community_id": place["community_id"], "dry_run": str(dry_run).lower()}
        if kind:
            query["kind"] = kind
        return client.post(
            "/api/v1/imports",
            headers=headers or place["manager"],
            query_string=query,
            data={"file": (io.BytesIO(content), "roster.xlsx")},
            content_type="multipart/form-data",
        )

    return _upload


def _state(count):
    return tuple(count(t) for t in (Building, Unit, Resident, outbox))


def test_an_import_then_the_same_file_again_changes_nothing(client, count, db, place, upload, kept_households):
    content = _xlsx(ROSTER)
    dry = upload(content, dry_run=True)
    before = _state(count)
    assert dry.status_code == 200, dry.json
    assert dry.json["valid"] is True and dry.json["units"]["created"] == 3 and dry.json["residents"]["created"] == 3
    assert _state(count) == before

    done = upload(content)
    assert done.status_code == 200, done.json
    assert done.json["buildings"]["created"] == 2 and done.json["zones"] == {"created": 1}
    after = _state(count)
    assert after[1] - before[1] == 3 and after[2] - before[2] == 3
    # zone.updated + 3 unit.created + 3 resident.registered
    assert after[3] - before[3] == 7
    assert sorted(kept_households(place["community_id"]).values()) == [False, False, True, True]

    again = upload(content)
    assert again.status_code == 200
    assert again.json["units"] == {"created": 0, "updated": 0, "unchanged": 3}
    assert again.json["residents"] == {"created": 0, "updated": 0, "unchanged": 3}
    assert _state(count) == after

    found = client.get("/api/v1/residents", headers=place["manager"], query_string={"q": ID}).json["items"]
    assert [(r["name"], r["role"], r["tags"]) for r in found] == [("赵*", "owner", ["elderly", "living_alone"])]
    units = client.get(
        "/api/v1/units",
        headers=place["manager"],
        query_string={"community_id": place["community_id"], "page_size": 100},
    ).json["items"]
    by_number = {u["number"]: u for u in units}
    assert by_number["2-101"]["gross_area_m2"] == "88.50" and by_number["2-101"]["inner_area_m2"] == "70.25"
    assert by_number["P-001"]["unit_type"] == "parking" and by_number["P-001"]["floor"] == -1
    assert by_number["2-101"]["zone_id"] and by_number["P-001"]["zone_id"] is None

    # The imported rows' events are what the contract says, each with its own id, carrying no personal data.
    with db.transaction() as s:
        payloads = [json.loads(p) for p in s.execute(select(outbox.c.payload)).scalars()]
    imported = {by_number[n]["id"] for n in ("2-101", "2-102", "P-001")}
    ours = [e for e in payloads if e["data"].get("unit_id") in imported]
    assert {e["type"] for e in ours} == {"unit.created", "resident.registered"}
    assert len({e["id"] for e in ours}) == len(ours) == 6
    for event in ours:
        assert PUBLISHED[event["type"]]().validate(event["data"]) == {}
        assert "赵一" not in json.dumps(event, ensure_ascii=False) and "13800138600" not in json.dumps(event)

    # A changed area is an update (one unit.updated), the rest stays as it is.
    changed = {**ROSTER, "units": [ROSTER["units"][0], ["2栋", "2-101", 1, "residential", "89.00", "70.25"]]}
    result = upload(_xlsx(changed))
    assert result.json["units"] == {"created": 0, "updated": 1, "unchanged": 0}
    assert _state(count)[3] == after[3] + 1


def test_bad_rows_are_listed_by_a_dry_run_and_reject_a_real_import_whole(count, place, upload):
    bad = {
        "units": [
            ["building", "number", "floor", "gross_area_m2"],
            ["3栋", "3-101", 1, "80.00"],
            ["3栋", "3-102", "一楼", "80.00"],
            ["3栋", "3-103", 1, "-5"],
            ["3栋", "3-101", 1, "80.00"],
        ],
        "residents": [
            ["building", "unit", "name", "phone", "role", "id_number"],
            ["3栋", "3-101", "孙四", "12345", "owner", None],
            ["3栋", "3-101", "孙五", "13800138610", "owner", "110105194912310021"],
            ["3栋", "9-999", "孙六", "13800138611", "owner", None],
            ["3栋", "3-101", "", "13800138612", "boss", None],
        ],
    }
    before = _state(count)
    dry = upload(_xlsx(bad), dry_run=True)
    assert dry.status_code == 200 and dry.json["valid"] is False
    assert sorted((e["sheet"], e["row"], e["field"]) for e in dry.json["errors"]) == [
        ("residents", 2, "phone"),
        ("residents", 3, "id_number"),
        ("residents", 4, "unit"),
        ("residents", 5, "name"),
        ("units", 3, "floor"),
        ("units", 4, "gross_area_m2"),
        ("units", 5, "number"),
    ]
    real = upload(_xlsx(bad))
    assert real.status_code == 422 and real.mimetype == "application/problem+json"
    assert "units[3].floor" in real.json["errors"] and "residents[3].id_number" in real.json["errors"]
    assert len(real.json["rows"]) == 7
    assert _state(count) == before


def test_csv_rosters_and_file_level_errors(client, count, place, upload, as_role):
    units_csv = "楼栋,房号,楼层,建筑面积\n5栋,5-101,1,66.60\n".encode()
    no_kind = upload(units_csv)
    assert no_kind.status_code == 422 and "kind" in no_kind.json["errors"]
    assert upload(units_csv, kind="units").json["units"]["created"] == 1
    people_csv = "building,unit,name,phone,role\n5栋,5-101,周七,13800138620,owner\n".encode("gb18030")
    assert upload(people_csv, kind="residents").json["residents"]["created"] == 1
    unknown = upload(b"building,number,colour\n", kind="units")
    assert unknown.status_code == 422 and "file" in unknown.json["errors"]
    butler = upload(units_csv, kind="units", headers=place["staff"])
    assert butler.status_code == 403
    foreign = upload(units_csv, kind="units", headers=as_role("cs_manager", communities=["elsewhere"]))
    assert foreign.status_code == 422 and "community_id" in foreign.json["errors"]


def test_export_has_the_import_shape_and_round_trips(client, count, place, register, upload):
    client.patch(
        f"/api/v1/residents/{register(place, phone='13800138630')['id']}",
        headers=place["manager"],
        json={"id_number": ID},
    )
    response = client.get(f"/api/v1/communities/{place['community_id']}/roster.xlsx", headers=place["manager"])
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["楼栋", "房屋", "住户"]
    rows = list(book["住户"].values)
    assert rows[0] == ("楼栋", "房号", "姓名", "手机", "身份", "身份证号", "标签", "备注")
    assert rows[1][:6] == ("1栋", "1-101", "张三丰", "+8613800138630", "业主", "1101**********002X")
    before = _state(count)
    again = upload(response.data)
    assert again.status_code == 200 and again.json["residents"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert _state(count) == before
    assert (
        client.get(f"/api/v1/communities/{place['community_id']}/roster.xlsx", headers=place["staff"]).status_code
        == 403
    )


def test_a_roster_may_be_larger_than_the_ordinary_body_limit(residents_settings, as_role, place):
    import dataclasses

    from residents.app import create_app

    small = create_app(dataclasses.replace(residents_settings, max_body_bytes=2048), upstreams={}).test_client()
    rows = "".join(f"6栋,6-{i:03d},1,80.00\n" for i in range(300))
    content = ("building,number,floor,gross_area_m2\n" + rows).encode()
    assert len(content) > 2 * 2048
    response = small.post(
        "/api/v1/imports",
        headers=place["manager"],
        query_string={"community_id": place["community_id"], "kind": "units", "dry_run": "true"},
        data={"file": (io.BytesIO(content), "units.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.json
    assert response.json["units"]["created"] == 300
    ordinary = small.post("/api/v1/residents", headers=place["staff"], json={"notes": "x" * 5000})
    assert ordinary.status_code == 413
