"""The audit log's community filter: the entries by or about the staff accounts of that community."""

import uuid


def test_the_community_filter_keeps_the_entries_by_or_about_its_accounts(client, admin_headers, create_user):
    here, there = str(uuid.uuid4()), str(uuid.uuid4())
    _body, mine = create_user(communities=[here])
    _body, other = create_user(communities=[there])
    found = client.get("/api/v1/audit", headers=admin_headers, query_string={"community_id": here, "page_size": 100})
    assert found.status_code == 200, found.json
    targets = {e["target_id"] for e in found.json["items"]}
    assert mine["id"] in targets and other["id"] not in targets
    nobody = client.get("/api/v1/audit", headers=admin_headers, query_string={"community_id": str(uuid.uuid4())})
    assert nobody.status_code == 200 and nobody.json["items"] == []
