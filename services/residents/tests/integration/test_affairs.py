"""Everyday affairs: resident cards, keys in custody, vacant-unit checks, home visits and zone familiarity."""

from datetime import UTC, datetime, timedelta

from residents.models import KeyLoan


def test_resident_card_issued_reported_lost_and_revoked(client, as_role, place, register):
    resident = register(place, phone="13800138300")
    base = f"/api/v1/residents/{resident['id']}/cards"
    card = client.post(base, headers=place["staff"], json={"card_number": "C-0001"})
    assert card.status_code == 201 and card.json["status"] == "active"
    other = register(place, phone="13800138301")
    twin = client.post(f"/api/v1/residents/{other['id']}/cards", headers=place["staff"], json={"card_number": "C-0001"})
    assert twin.status_code == 409 and "card_number" in twin.json["errors"]
    me = as_role("resident", units=[place["unit_id"]], resident_id=resident["id"])
    lost = client.post(f"{base}/{card.json['id']}/report-lost", headers=me)
    assert lost.status_code == 200 and lost.json["status"] == "lost"
    assert client.post(f"{base}/{card.json['id']}/revoke", headers=me).status_code == 403
    revoked = client.post(f"{base}/{card.json['id']}/revoke", headers=place["staff"])
    assert revoked.status_code == 200 and revoked.json["status"] == "revoked"
    assert client.post(f"{base}/{card.json['id']}/report-lost", headers=place["staff"]).status_code == 409
    # The number is free again once the old card is no longer active.
    assert client.post(base, headers=place["staff"], json={"card_number": "C-0001"}).status_code == 201
    assert [c["status"] for c in client.get(base, headers=me).json] == ["revoked", "active"]


def test_keys_lent_only_to_listed_people_and_overdue_returns_listed(client, clock, count, place, register):
    clock.set(datetime(2026, 11, 27, 1, 0, tzinfo=UTC))
    owner = register(place, phone="13800138310")
    base = f"/api/v1/units/{place['unit_id']}/keys"
    key = client.post(
        base,
        headers=place["staff"],
        json={
            "label": "入户门",
            "authorized": [{"resident_id": owner["id"]}, {"name": "保洁阿姨", "phone": "13700137310"}],
        },
    )
    assert key.status_code == 201, key.json
    assert [p["phone"] for p in key.json["authorized"]] == ["138****8310", "137****7310"]
    lend = f"{base}/{key.json['id']}/lend"
    due = (clock.now + timedelta(hours=4)).isoformat()
    before = count(KeyLoan)
    stranger = client.post(
        lend, headers=place["staff"], json={"borrower": {"phone": "13600136310"}, "reason": "装修", "due_back_at": due}
    )
    assert stranger.status_code == 422 and "borrower" in stranger.json["errors"]
    assert count(KeyLoan) == before
    lent = client.post(
        lend,
        headers=place["staff"],
        json={"borrower": {"phone": "137 0013 7310"}, "reason": "保洁", "due_back_at": due},
    )
    assert lent.status_code == 200, lent.json
    assert lent.json["status"] == "lent" and lent.json["loan"]["borrower_name"] == "保洁阿姨"
    again = client.post(
        lend, headers=place["staff"], json={"borrower": {"resident_id": owner["id"]}, "reason": "x", "due_back_at": due}
    )
    assert again.status_code == 409

    overdue = f"/api/v1/communities/{place['community_id']}/overdue-keys"
    assert client.get(overdue, headers=place["staff"]).json == []
    clock.set(clock.now + timedelta(hours=5))
    listed = client.get(overdue, headers=place["staff"]).json
    assert [(k["key_id"], k["unit_number"], k["loan"]["reason"]) for k in listed] == [(key.json["id"], "1-101", "保洁")]
    returned = client.post(f"{base}/{key.json['id']}/return", headers=place["staff"])
    assert returned.status_code == 200 and returned.json["status"] == "in_custody"
    assert client.get(overdue, headers=place["staff"]).json == []
    assert client.post(f"{base}/{key.json['id']}/return", headers=place["staff"]).status_code == 409


def test_vacant_units_and_their_checks(client, clock, place, register):
    clock.set(datetime(2026, 11, 27, 1, 0, tzinfo=UTC))
    vacant = f"/api/v1/zones/{place['zone_id']}/vacant-units"
    listed = client.get(vacant, headers=place["staff"]).json
    assert [(v["unit"]["id"], v["check_due"], v["last_checked_at"]) for v in listed] == [(place["unit_id"], True, None)]
    check = client.post(
        f"/api/v1/units/{place['unit_id']}/vacancy-checks",
        headers=place["staff"],
        json={"issues_found": True, "findings": "卫生间漏水"},
    )
    assert check.status_code == 201, check.json
    assert client.get(vacant, headers=place["staff"]).json[0]["check_due"] is False
    clock.set(clock.now + timedelta(days=31))
    assert client.get(vacant, headers=place["staff"]).json[0]["check_due"] is True
    checks = client.get(f"/api/v1/units/{place['unit_id']}/vacancy-checks", headers=place["staff"]).json
    assert [c["findings"] for c in checks] == ["卫生间漏水"]
    owner = register(place, phone="13800138320")
    client.post(f"/api/v1/units/{place['unit_id']}/move-in", headers=place["staff"], json={"resident_id": owner["id"]})
    assert client.get(vacant, headers=place["staff"]).json == []
    occupied = client.post(
        f"/api/v1/units/{place['unit_id']}/vacancy-checks",
        headers=place["staff"],
        json={"issues_found": False, "findings": "x"},
    )
    assert occupied.status_code == 409


def test_zone_familiarity_and_the_households_nobody_reached(client, clock, place, register, as_role):
    clock.set(datetime(2026, 11, 27, 1, 0, tzinfo=UTC))
    second = client.post(
        "/api/v1/units",
        headers=place["manager"],
        json={"building_id": place["building_id"], "number": "1-102", "floor": 1, "area_m2": "70.00"},
    ).json
    a = register(place, phone="13800138330")
    b = register(place, phone="13800138331", unit_id=second["id"])
    empty = client.get(f"/api/v1/zones/{place['zone_id']}/familiarity", headers=place["staff"]).json
    assert (empty["households"], empty["contacted"], empty["contacted_share"]) == (2, 0, 0.0)

    visit = client.post(
        f"/api/v1/residents/{a['id']}/contacts",
        headers=place["staff"],
        json={"kind": "visit", "effective": True, "notes": "老人身体好"},
    )
    assert visit.status_code == 201, visit.json
    old_call = client.post(
        f"/api/v1/residents/{b['id']}/contacts",
        headers=place["staff"],
        json={"kind": "call", "effective": False, "contacted_at": "2026-01-01T02:00:00+00:00"},
    )
    assert old_call.status_code == 201
    report = client.get(f"/api/v1/zones/{place['zone_id']}/familiarity?days=30", headers=place["staff"]).json
    assert (report["households"], report["contacted"], report["effective"]) == (2, 1, 1)
    assert report["contacted_share"] == 0.5 and report["familiarity_target"] == 0.95 and not report["meets_targets"]
    unreached = client.get(f"/api/v1/zones/{place['zone_id']}/unreached?days=30", headers=place["staff"]).json
    assert unreached == [{"unit_id": second["id"], "building": "1栋", "number": "1-102"}]
    whole_year = client.get(f"/api/v1/zones/{place['zone_id']}/familiarity?days=365", headers=place["staff"]).json
    assert whole_year["contacted"] == 2 and whole_year["effective"] == 1
    # The community's list gives every zone's figures at once, the same as the zone's own answer, with its name.
    listed = client.get(
        f"/api/v1/communities/{place['community_id']}/familiarity?days=30", headers=place["manager"]
    ).json["items"]
    assert listed == [{**report, "name": "A区"}]
    missing = client.get("/api/v1/communities/no-such-community/familiarity", headers=place["manager"])
    assert missing.status_code == 404
    log = client.get(f"/api/v1/residents/{a['id']}/contacts", headers=place["staff"]).json
    assert [(c["kind"], c["effective"]) for c in log] == [("visit", True)]
    future = client.post(
        f"/api/v1/residents/{a['id']}/contacts",
        headers=place["staff"],
        json={"kind": "call", "effective": True, "contacted_at": "2027-01-01T00:00:00+00:00"},
    )
    assert future.status_code == 422 and "contacted_at" in future.json["errors"]

    # Per butler for a month (staff's scorecards ask it, the service role only): November holds the visit only.
    zone = client.patch(f"/api/v1/zones/{place['zone_id']}", headers=place["manager"], json={"butler_ids": ["u-9"]})
    assert zone.status_code == 200, zone.json
    url = f"/api/v1/internal/residents/butler-familiarity?community_id={place['community_id']}&month=2026-11"
    assert client.get(url, headers=place["staff"]).status_code == 403
    [row] = client.get(url, headers=as_role("service")).json["items"]
    assert (row["key"], row["households"], row["contacted"], row["effective"]) == ("u-9", 2, 1, 1)
    assert (row["familiarity"], row["communication"]) == (0.5, 0.5)
    # The zone's and the community's rows (a zone or community plan's summary asks them).
    [by_zone] = client.get(f"{url}&group_by=zone", headers=as_role("service")).json["items"]
    [whole] = client.get(f"{url}&group_by=community", headers=as_role("service")).json["items"]
    assert (by_zone["key"], by_zone["households"], by_zone["contacted"]) == (place["zone_id"], 2, 1)
    assert (whole["key"], whole["households"], whole["familiarity"]) == (place["community_id"], 2, 0.5)
    wrong = client.get(f"{url}&group_by=unit", headers=as_role("service"))
    assert wrong.status_code == 422 and "group_by" in wrong.json["errors"]
    [january] = client.get(url.replace("2026-11", "2026-01"), headers=as_role("service")).json["items"]
    assert (january["contacted"], january["effective"], january["familiarity"]) == (1, 0, 0.5)
    bad = client.get(url.replace("2026-11", "2026-1"), headers=as_role("service"))
    assert bad.status_code == 422 and "month" in bad.json["errors"]


def test_familiarity_figures_are_the_count_of_the_contact_log(client, clock, place, register, as_role):
    """The kept last contacts of each unit give the figures counting the log would: a backdated contact leaves a
    later one in place, an older one falls out of the window, a call that reached nobody is not effective, a
    moved-out household is not counted at all."""
    now = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    clock.set(now)
    units = [place["unit_id"]]
    for number in ("1-102", "1-103", "1-104", "1-105", "1-106"):
        unit = client.post(
            "/api/v1/units",
            headers=place["manager"],
            json={"building_id": place["building_id"], "number": number, "floor": 1, "area_m2": "70.00"},
        )
        units.append(unit.json["id"])
    residents = [register(place, phone=f"1380013840{n}", unit_id=unit) for n, unit in enumerate(units)]
    residents.append(register(place, phone="13800138410", role="family", unit_id=units[0]))

    def contact(resident, days_ago, effective):
        at = (now - timedelta(days=days_ago)).isoformat()
        body = {"kind": "visit" if effective else "call", "effective": effective, "contacted_at": at}
        response = client.post(f"/api/v1/residents/{resident['id']}/contacts", headers=place["staff"], json=body)
        assert response.status_code == 201, response.json

    contact(residents[0], 0, True)
    contact(residents[0], 40, False)  # backdated after a later one: the later one stays the unit's last
    contact(residents[6], 3, False)  # another resident of the same household
    contact(residents[1], 2, False)
    contact(residents[1], 20, True)  # backdated: contacted 2 days ago, effectively 20 days ago
    contact(residents[2], 100, True)  # only an older contact
    contact(residents[3], 200, True)
    contact(residents[3], 1, False)  # reached nobody: contacted, not effectively
    unit = f"/api/v1/units/{units[4]}"
    moved = client.post(f"{unit}/move-in", headers=place["staff"], json={"resident_id": residents[4]["id"]})
    assert moved.status_code == 200, moved.json
    contact(residents[4], 0, True)
    left = client.post(f"{unit}/move-out", headers=place["staff"], json={})
    assert left.status_code == 200, left.json
    # units[5]: a household nobody contacted.

    log = [
        (r["unit_id"], datetime.fromisoformat(c["contacted_at"]), c["effective"])
        for r in residents
        if r["unit_id"] != units[4]
        for c in client.get(f"/api/v1/residents/{r['id']}/contacts", headers=place["staff"]).json
    ]
    households = set(units) - {units[4]}
    for days in (1, 7, 30, 90, 365):
        since = now - timedelta(days=days)
        contacted = {u for u, at, _ in log if at >= since}
        effective = {u for u, at, eff in log if at >= since and eff}
        report = client.get(f"/api/v1/zones/{place['zone_id']}/familiarity?days={days}", headers=place["staff"]).json
        assert (report["households"], report["contacted"], report["effective"]) == (
            len(households),
            len(contacted),
            len(effective),
        ), days
        listed = client.get(
            f"/api/v1/communities/{place['community_id']}/familiarity?days={days}", headers=place["manager"]
        ).json["items"]
        assert listed == [{**report, "name": "A区"}]
        unreached = client.get(f"/api/v1/zones/{place['zone_id']}/unreached?days={days}", headers=place["staff"]).json
        assert {u["unit_id"] for u in unreached} == households - contacted, days
    assert (report["contacted"], report["effective"]) == (4, 4)  # 365 days: all but the untouched household

    # A month that does not end now is counted from the log itself (no contact lies near a month's edge).
    for month in ("2026-11", "2026-10", "2026-08", "2026-05"):
        url = f"/api/v1/internal/residents/butler-familiarity?community_id={place['community_id']}&month={month}"
        [row] = client.get(f"{url}&group_by=zone", headers=as_role("service")).json["items"]
        contacted = {u for u, at, _ in log if at.strftime("%Y-%m") == month}
        effective = {u for u, at, eff in log if at.strftime("%Y-%m") == month and eff}
        assert (row["households"], row["contacted"], row["effective"]) == (5, len(contacted), len(effective)), month


def test_a_unit_is_a_household_while_a_resident_has_not_moved_out(client, place, register, kept_households):
    """The households the figures count, as the units keep them, follow registering, moving out, removing a record
    registered by mistake and merging a duplicate."""
    familiarity = f"/api/v1/zones/{place['zone_id']}/familiarity"

    def households():
        kept_households(place["community_id"])
        return client.get(familiarity, headers=place["staff"]).json["households"]

    assert households() == 0
    wrong = register(place, phone="13800138420")
    assert households() == 1
    removed = client.post(f"/api/v1/residents/{wrong['id']}/removal", headers=place["manager"], json={"reason": "录错"})
    assert removed.status_code == 200, removed.json
    assert households() == 0

    owner = register(place, phone="13800138421")
    unit = f"/api/v1/units/{place['unit_id']}"
    assert client.post(f"{unit}/move-in", headers=place["staff"], json={"resident_id": owner["id"]}).status_code == 200
    assert households() == 1
    assert client.post(f"{unit}/move-out", headers=place["staff"], json={}).status_code == 200
    assert households() == 0
    # A record registered again for the moved-out person, merged into their old record: nobody lives there.
    again = register(place, phone="13800138422")
    assert households() == 1
    merged = client.post(
        f"/api/v1/residents/{again['id']}/merge", headers=place["manager"], json={"into": owner["id"], "reason": "重复"}
    )
    assert merged.status_code == 200, merged.json
    assert households() == 0
