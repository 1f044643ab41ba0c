"""Residents' zones are the one source of zone membership: a manager adds a butler to a zone and both the tickets'
routing and the butler's access to the zone's units follow (the access from the next sign-in or token refresh)."""

import time

from .conftest import ADMIN_PASSWORD, Client, make_household


def _sign_in(stack, username: str, password: str) -> tuple[dict, str]:
    http = Client(stack.url).http
    response = http.post(f"{stack.url}/api/v1/auth/token", json={"username": username, "password": password})
    if response.status_code == 403:  # an account the admin created changes its password first
        new = password + "-new"
        response = http.post(
            f"{stack.url}/api/v1/auth/password",
            json={"username": username, "password": password, "new_password": new},
        )
        password = new
    assert response.status_code == 200, response.text
    return response.json(), password


def test_a_butler_added_to_a_zone_gets_its_tickets_and_its_units(stack, admin):
    household = make_household(admin)
    community, unit = household["community"]["id"], household["unit"]["id"]
    zone = admin.get("/api/v1/zones", params={"community_id": community}).json()["items"][0]
    username = f"butler-{household['login'][0]}"
    butler_user = admin.created(
        "/api/v1/users",
        {"username": username, "password": "butler-password-1", "role": "butler", "communities": [community]},
    )
    tokens, password = _sign_in(stack, username, "butler-password-1")
    butler = Client(stack.url, tokens["access_token"])
    assert butler.get(f"/api/v1/units/{unit}").status_code == 404  # not (yet) in any zone

    # The manager assigns the butler in residents — the only place zone membership is kept.
    patched = admin.request("PATCH", f"/api/v1/zones/{zone['id']}", json={"butler_ids": [butler_user["id"]]})
    assert patched.status_code == 200, patched.text

    refreshed = Client(stack.url).http.post(
        f"{stack.url}/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    butler = Client(stack.url, refreshed.json()["access_token"])
    assert butler.get(f"/api/v1/units/{unit}").status_code == 200
    assert zone["id"] in butler.get("/api/v1/users/me").json()["zones"]

    # Tickets route the zone's repairs to the same butler (tickets follow zone.updated).
    resident = Client(stack.url).login(*household["login"])
    deadline = time.monotonic() + 20
    while True:
        ticket = resident.created("/api/v1/tickets", {"unit_id": unit, "category": "repair", "description": "门锁坏了"})
        if ticket["assignee_id"] == butler_user["id"] or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert ticket["assignee_id"] == butler_user["id"]
    assert butler.get(f"/api/v1/tickets/{ticket['id']}").status_code == 200

    # Taken out of the zone: the next token no longer carries it.
    assert admin.request("PATCH", f"/api/v1/zones/{zone['id']}", json={"butler_ids": []}).status_code == 200
    again, _ = _sign_in(stack, username, password)
    assert Client(stack.url, again["access_token"]).get(f"/api/v1/units/{unit}").status_code == 404
    assert Client(stack.url).login("admin", ADMIN_PASSWORD).get(f"/api/v1/units/{unit}").status_code == 200
