"""突发事件: incident.opened reaches exactly the households of the affected scope, through the real residents service
(two buildings of one community: only the affected one hears; a unit named alone is reached too)."""

import uuid

from guanjia import events


def _community_with_two_buildings(post, mobile):
    community = post("/api/v1/communities", {"name": f"测试小区{uuid.uuid4().hex[:6]}"})
    place = {"community_id": community["id"], "buildings": {}}
    for name in ("1栋", "2栋"):
        building = post("/api/v1/buildings", {"community_id": community["id"], "name": name})
        homes = []
        for number in ("101", "102"):
            unit = post("/api/v1/units", {"building_id": building["id"], "number": number, "floor": 1, "area_m2": "90"})
            phone = mobile()
            post("/api/v1/residents", {"unit_id": unit["id"], "name": "李四", "phone": phone, "role": "owner"})
            homes.append({"unit_id": unit["id"], "phone": phone})
        place["buildings"][name] = {"id": building["id"], "homes": homes}
    return place


def _incident_opened(community_id, *, building_ids=(), unit_ids=(), notify=True):
    incident_id = str(uuid.uuid4())
    return events.build(
        type="incident.opened",
        source="/testcity/tickets",
        subject=f"incident/{incident_id}",
        city="testcity",
        community=community_id,
        data={
            "incident_id": incident_id,
            "community_id": community_id,
            "type": "water_outage",
            "severity": "major",
            "status": "open",
            "scope": {"unit_ids": list(unit_ids), "building_ids": list(building_ids), "zone_ids": []},
            "notify_residents": notify,
            "reported_at": "2026-12-02T01:00:00+00:00",
        },
    )


def test_the_urgent_notice_reaches_exactly_the_affected_building(
    pipeline, residents_upstream, residents_post, random_mobile, fake_sms
):
    p = pipeline("twilio")
    p.upstreams["residents"] = residents_upstream
    place = _community_with_two_buildings(residents_post, random_mobile)
    one, two = place["buildings"]["1栋"], place["buildings"]["2栋"]
    event = _incident_opened(place["community_id"], building_ids=[one["id"]])
    assert p.handle(event) == "applied"
    assert p.handle(event) == "duplicate"  # a redelivery sends nothing more
    p.dispatch()
    sent = fake_sms.of("twilio")
    assert sorted(m["phone"] for m in sent) == sorted(h["phone"] for h in one["homes"])
    assert all("停水" in m["body"] and m["body"].startswith("【幸福物业】紧急通知") for m in sent)
    assert not {h["phone"] for h in two["homes"]} & {m["phone"] for m in sent}


def test_a_unit_and_a_building_together_reach_each_household_once_and_no_notice_sends_nothing(
    pipeline, residents_upstream, residents_post, random_mobile, fake_sms
):
    p = pipeline("twilio")
    p.upstreams["residents"] = residents_upstream
    place = _community_with_two_buildings(residents_post, random_mobile)
    one, two = place["buildings"]["1栋"], place["buildings"]["2栋"]
    quiet = _incident_opened(place["community_id"], building_ids=[one["id"]], notify=False)
    assert p.handle(quiet) == "applied"
    p.dispatch()
    assert fake_sms.of("twilio") == []
    # The flooded unit of building 2 and the whole of building 1 (one of whose units is also named).
    both = _incident_opened(
        place["community_id"],
        building_ids=[one["id"]],
        unit_ids=[two["homes"][0]["unit_id"], one["homes"][0]["unit_id"]],
    )
    assert p.handle(both) == "applied"
    p.dispatch()
    phones = [m["phone"] for m in fake_sms.of("twilio")]
    expected = [h["phone"] for h in one["homes"]] + [two["homes"][0]["phone"]]
    assert sorted(phones) == sorted(expected)  # each once, and building 2's other household not at all
