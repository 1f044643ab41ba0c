"""The knowledge base (百问百答) and the directory: Chinese substring search, responsible party, review dates,
published-only for residents, and another community's entries invisible."""

from datetime import date, timedelta


def _entry(client, headers, community_id, **fields):
    body = {
        "community_id": community_id,
        "category": "repairs",
        "question": "房屋漏水找谁维修？",
        "answer": "保修期内由开发商负责维修，物业负责协调并跟进。",
        "responsible_party": "developer",
        "status": "published",
        "review_by": (date.today() + timedelta(days=180)).isoformat(),
        **fields,
    }
    response = client.post("/api/v1/knowledge", headers=headers, json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_chinese_substring_search_finds_the_question_and_the_answer(client, world):
    c, m = world["community_id"], world["manager"]
    leak = _entry(client, m, c)
    fee = _entry(
        client,
        m,
        c,
        category="fees",
        question="物业费包含哪些服务？",
        answer="包括公共区域保洁、绿化养护、秩序维护和共用设施设备的日常维护。",
        responsible_party="property_company",
    )
    gas = _entry(
        client,
        m,
        c,
        category="utilities",
        question="燃气表故障怎么办？",
        answer="请拨打燃气公司客服热线报修，物业可协助联系。",
        responsible_party="utility",
    )

    def found(q, **params):
        response = client.get("/api/v1/knowledge", headers=m, query_string={"community_id": c, "q": q, **params})
        assert response.status_code == 200, response.json
        return {item["id"] for item in response.json["items"]}

    assert found("漏水") == {leak["id"]}  # in the question
    assert found("绿化养护") == {fee["id"]}  # in the middle of the answer
    assert found("物业") == {leak["id"], fee["id"], gas["id"]}
    assert found("燃气", responsible_party="utility") == {gas["id"]}
    assert found("%") == set()  # a LIKE wildcard is a character, not a pattern
    assert found("电梯") == set()


def test_residents_read_only_published_entries_of_their_community(client, world):
    c = world["community_id"]
    published = _entry(client, world["manager"], c, question="小区停车怎么收费？", category="parking")
    draft = _entry(client, world["manager"], c, question="草稿：装修押金多少？", status="draft")
    listed = client.get("/api/v1/knowledge", headers=world["resident"], query_string={"community_id": c})
    ids = {item["id"] for item in listed.json["items"]}
    assert published["id"] in ids and draft["id"] not in ids
    assert client.get(f"/api/v1/knowledge/{draft['id']}", headers=world["resident"]).status_code == 404
    assert client.get(f"/api/v1/knowledge/{published['id']}", headers=world["resident"]).status_code == 200
    # A resident cannot write, and another community's staff see nothing of it.
    assert client.post("/api/v1/knowledge", headers=world["resident"], json={}).status_code == 403
    assert client.get(f"/api/v1/knowledge/{published['id']}", headers=world["outsider"]).status_code == 404
    outside = client.get("/api/v1/knowledge", headers=world["outsider"], query_string={"community_id": c})
    assert outside.status_code == 404


def test_entries_past_their_review_date_are_listed_and_leave_the_list_when_reviewed(client, world):
    c, m = world["community_id"], world["manager"]
    stale = _entry(client, m, c, question="门禁卡丢了怎么补办？", review_by="2020-01-31")
    fresh = _entry(client, m, c, question="快递柜在哪里？")
    overdue = client.get("/api/v1/knowledge/overdue", headers=m, query_string={"community_id": c})
    assert [item["id"] for item in overdue.json["items"]] == [stale["id"]]
    assert fresh["id"] not in {item["id"] for item in overdue.json["items"]}
    changed = client.patch(
        f"/api/v1/knowledge/{stale['id']}",
        headers=world["butler"],
        json={
            "review_by": (date.today() + timedelta(days=90)).isoformat(),
            "answer": "到物业服务中心登记补办，工本费20元。",
        },
    )
    assert changed.status_code == 200, changed.json
    again = client.get("/api/v1/knowledge/overdue", headers=m, query_string={"community_id": c})
    assert again.json["items"] == []


def test_bad_input_names_the_field_and_writes_nothing(client, world):
    c, m = world["community_id"], world["manager"]
    response = client.post(
        "/api/v1/knowledge",
        headers=m,
        json={
            "community_id": c,
            "category": "repairs",
            "question": "谁负责？",
            "answer": "……",
            "responsible_party": "neighbour",
            "review_by": "2027-01-01",
        },
    )
    assert response.status_code == 422 and "responsible_party" in response.json["errors"]
    assert client.get("/api/v1/knowledge", headers=m, query_string={"community_id": c}).json["total"] == 0
    unknown = client.get("/api/v1/knowledge", headers=m, query_string={"community_id": c, "colour": "red"})
    assert unknown.status_code == 400


def test_directory_of_local_services_and_hotlines(client, world):
    c, m = world["community_id"], world["manager"]
    review_by = (date.today() + timedelta(days=365)).isoformat()
    entries = [
        {"kind": "hotline", "category": "citizen_hotline", "name": "市民服务热线", "phone": "12345"},
        {"kind": "hotline", "category": "police", "name": "城南派出所", "phone": "0571-87000110"},
        {"kind": "local_service", "category": "health", "name": "社区卫生服务中心", "address": "文三路 88 号"},
    ]
    for entry in entries:
        created = client.post(
            "/api/v1/directory",
            headers=m,
            json={"community_id": c, "status": "published", "review_by": review_by, **entry},
        )
        assert created.status_code == 201, created.json
    hotlines = client.get(
        "/api/v1/directory", headers=world["resident"], query_string={"community_id": c, "kind": "hotline"}
    )
    assert {item["name"] for item in hotlines.json["items"]} == {"市民服务热线", "城南派出所"}
    search = client.get("/api/v1/directory", headers=world["resident"], query_string={"community_id": c, "q": "卫生"})
    assert [item["name"] for item in search.json["items"]] == ["社区卫生服务中心"]
    bad = client.post(
        "/api/v1/directory",
        headers=m,
        json={
            "community_id": c,
            "kind": "hotline",
            "category": "gas",
            "name": "燃气",
            "phone": "call us",
            "review_by": review_by,
        },
    )
    assert bad.status_code == 422 and "phone" in bad.json["errors"]


def test_search_by_one_character_three_characters_and_an_edited_text(client, world):
    """The search's grams (kept by PostgreSQL) answer every query length, follow an edit, and never widen a
    match across the question and the answer."""
    c, m = world["community_id"], world["manager"]
    lift = _entry(client, m, c, question="电梯困人怎么办？", answer="立即按下警铃，物业值班人员五分钟内到场。")
    key = _entry(client, m, c, question="钥匙交接", answer="凭身份证到服务中心领取 A 栋 Key。")

    def found(q):
        response = client.get("/api/v1/knowledge", headers=m, query_string={"community_id": c, "q": q})
        assert response.status_code == 200, response.json
        assert response.json["total"] == len(response.json["items"])
        return {item["id"] for item in response.json["items"]}

    assert found("梯") == {lift["id"]}
    assert found("五分钟内") == {lift["id"]}
    assert found("Key") == {key["id"]} and found("key") == set()  # as LIKE: case kept
    assert found("办？立即") == set()  # the end of the question and the start of the answer are not one text
    changed = client.patch(f"/api/v1/knowledge/{key['id']}", headers=m, json={"answer": "门禁卡在物业前台补办。"})
    assert changed.status_code == 200, changed.json
    assert found("Key") == set() and found("前台补办") == {key["id"]}
