"""Through the gateway, in both run modes (issue 12): search does not defeat masking, key collectors are masked,
personal-data views reach the gateway's audit log, nothing personal is cached, attachments are images or PDFs by
content and come back as downloads, photos have their own size limit, no version banner, no public /metrics."""

from __future__ import annotations

import io
import os
import uuid

import pytest

from .conftest import Client, make_household

PHONE = "13912340001"
FAMILY_PHONE = "13912340002"
COLLECTOR_PHONE = "13912340003"


def _jpeg(min_bytes: int) -> bytes:
    """A real JPEG of at least `min_bytes` (noise compresses badly, like a phone photo of a wet ceiling)."""
    from PIL import Image

    side = 600
    while True:
        out = io.BytesIO()
        Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "JPEG", quality=95)
        if out.tell() >= min_bytes:
            return out.getvalue()
        side = int(side * 1.3)


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def place(admin: Client) -> dict:
    """A household with an owner (a login), a family member (a login), and a cs_manager of the community."""
    home = make_household(admin)
    unit_id, community_id = home["unit"]["id"], home["community"]["id"]
    tag = uuid.uuid4().hex[:6]
    owner = admin.created(
        "/api/v1/residents", {"unit_id": unit_id, "name": f"张伟{tag}", "phone": PHONE, "role": "owner"}
    )
    family = admin.created(
        "/api/v1/residents", {"unit_id": unit_id, "name": "李娜", "phone": FAMILY_PHONE, "role": "family"}
    )
    users = {}
    for name, role, extra in (
        ("family", "resident", {"resident_id": family["id"], "units": [unit_id]}),
        ("manager", "cs_manager", {}),
    ):
        username, password = f"{name}-{tag}", "quiet-harbour-2026"
        admin.created(
            "/api/v1/users",
            {"username": username, "password": password, "role": role, "communities": [community_id], **extra},
        )
        users[name] = Client(admin.base_url).login(username, password)
    return {**home, "owner": owner, "owner_name": f"张伟{tag}", "family": family, "tag": tag, **users}


def test_masked_roles_search_only_by_exact_phone_and_each_find_is_recorded(admin, place):
    manager, owner = place["manager"], place["owner"]
    # 张** is what a manager sees; a name prefix would recover 张伟… one character at a time.
    for fragment in ("张", "张伟", f"张伟{place['tag'][:2]}"):
        refused = manager.get("/api/v1/residents", params={"q": fragment})
        assert refused.status_code == 422, fragment
        assert "q" in refused.json()["errors"]
    found = manager.get("/api/v1/residents", params={"q": PHONE})
    assert found.status_code == 200
    assert [r["id"] for r in found.json()["items"]] == [owner["id"]]
    assert found.json()["items"][0]["name"].startswith("张*")
    assert found.headers["Cache-Control"] == "no-store"
    assert "X-Guanjia-Audit" not in found.headers  # the gateway records it and drops it
    disclosures = admin.get(f"/api/v1/residents/{owner['id']}/disclosures").json()
    assert [d["fields"] for d in disclosures] == [["search:phone"]]
    audit = admin.get("/api/v1/audit", params={"action": "personal_data.searched", "target_id": owner["id"]})
    [entry] = audit.json()["items"]
    assert entry["actor_role"] == "cs_manager" and entry["target_type"] == "resident"
    assert PHONE not in str(entry)  # who was found, never what was searched for


def test_a_personal_data_view_is_in_the_gateways_audit_log_and_never_cached(admin, place):
    owner = place["owner"]
    revealed = place["manager"].get(f"/api/v1/residents/{owner['id']}/personal-data")
    assert revealed.status_code == 200 and revealed.json()["phone"].endswith(PHONE)
    assert revealed.headers["Cache-Control"] == "no-store"
    audit = admin.get("/api/v1/audit", params={"action": "personal_data.viewed", "target_id": owner["id"]})
    [entry] = audit.json()["items"]
    assert entry["actor_role"] == "cs_manager" and entry["target_type"] == "resident"
    assert entry["request_id"] == revealed.headers["X-Request-ID"]
    for path in (f"/api/v1/residents/{owner['id']}", "/api/v1/residents", f"/api/v1/units/{place['unit']['id']}"):
        assert place["manager"].get(path).headers["Cache-Control"] == "no-store", path


def test_key_collectors_are_masked_for_family_members_and_integrators(admin, place):
    unit_id = place["unit"]["id"]
    key = admin.created(
        f"/api/v1/units/{unit_id}/keys",
        {
            "label": "大门钥匙",
            "authorized": [
                {"resident_id": place["owner"]["id"]},
                {"name": "王阿姨", "phone": COLLECTOR_PHONE},
            ],
        },
    )
    issued = admin.created(
        "/api/v1/api-keys",
        {"name": f"门禁-{place['tag']}", "communities": [place["community"]["id"]], "resources": ["units"]},
    )
    integrator = Client(admin.base_url)
    as_integrator = integrator.get(f"/api/v1/units/{unit_id}/keys", headers={"X-API-Key": issued["key"]})
    as_family = place["family"].get(f"/api/v1/units/{unit_id}/keys")
    for response in (as_integrator, as_family):
        assert response.status_code in (200, 403, 404), response.text
        if response.status_code != 200:
            continue  # a role that may not read keys at all leaks nothing either
        [listed] = [k for k in response.json() if k["id"] == key["id"]]
        names = {p["name"] for p in listed["authorized"]}
        phones = {p["phone"] for p in listed["authorized"]}
        assert names == {"张" + "*" * (len(place["owner_name"]) - 1), "王**"}, names
        assert phones == {"139****0001", "139****0003"}, phones
        assert response.headers["Cache-Control"] == "no-store"
    # The key desk still reads the names it checks collectors against; phones stay masked for everyone.
    desk = place["manager"].get(f"/api/v1/units/{unit_id}/keys").json()
    [listed] = [k for k in desk if k["id"] == key["id"]]
    assert {p["name"] for p in listed["authorized"]} == {place["owner_name"], "王阿姨"}
    assert {p["phone"] for p in listed["authorized"]} == {"139****0001", "139****0003"}


def _ticket(place) -> tuple[Client, str]:
    resident = Client(place["manager"].base_url).login(*place["login"])
    ticket = resident.created(
        "/api/v1/tickets", {"unit_id": place["unit"]["id"], "category": "repair", "description": "天花板渗水"}
    )
    return resident, ticket["id"]


def test_attachments_are_photos_or_pdfs_by_content_and_come_back_as_downloads(place):
    resident, ticket_id = _ticket(place)
    url = f"/api/v1/tickets/{ticket_id}/attachments"
    photo = _jpeg(2_500_000)
    uploaded = resident.post(url, files={"file": ("IMG_2041.JPG", photo, "image/jpeg")})
    assert uploaded.status_code == 201, uploaded.text  # a 2.5 MB phone photo passes the 1 MiB JSON limit
    assert uploaded.json()["content_type"] == "image/jpeg" and uploaded.json()["size"] == len(photo)

    html = b"<html><script>fetch('/api/v1/users/me')</script></html>"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    for name, body, declared in (
        ("x.html", html, "text/html"),
        ("x.svg", svg, "image/svg+xml"),
        ("photo.jpg", html, "image/jpeg"),  # a page dressed as a photo
        ("broken.png", _png()[:40], "image/png"),  # a PNG header and nothing decodable behind it
    ):
        refused = resident.post(url, files={"file": (name, body, declared)})
        assert refused.status_code == 422, (name, refused.text)
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        assert "file" in refused.json()["errors"]

    too_big = resident.post(url, files={"file": ("big.jpg", photo + b"\0" * (10 * 1024 * 1024), "image/jpeg")})
    assert too_big.status_code == 413 and too_big.headers["Content-Type"].startswith("application/problem+json")

    listed = resident.get(url).json()["items"]
    assert [a["id"] for a in listed] == [uploaded.json()["id"]]
    content = resident.get(f"{url}/{uploaded.json()['id']}/content")
    assert content.status_code == 200 and content.content == photo
    assert content.headers["Content-Type"] == "image/jpeg"
    assert content.headers["Content-Disposition"].startswith("attachment;")
    assert content.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in content.headers["Content-Security-Policy"]


def test_no_version_banner_and_no_public_metrics(stack):
    for path in ("/healthz", "/api/v1/units", "/api/v1/openapi.json"):
        response = Client(stack.url).get(path)
        banner = response.headers.get("Server", "")
        assert "Werkzeug" not in banner and "Python" not in banner and "/" not in banner, banner
    assert Client(stack.url).get("/metrics").status_code == 404  # no token configured: not served publicly
