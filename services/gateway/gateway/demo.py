"""The demo community, loaded through the gateway's HTTP API exactly as a client would (both run modes)."""

from __future__ import annotations

import requests

COMMUNITY = "阳光花园 Sunshine Garden"
ZONE = "一区"
BUILDING = "1栋"
UNIT = {"number": "1-101", "floor": 1, "area_m2": "89.50"}
RESIDENT = {"name": "张三", "phone": "13800138000", "role": "owner"}
BUTLER = ("butler", "garden-walk-2026")
RESIDENT_USER = ("resident", "home-1-101-sunny")
TIMEOUT = 10.0


class SeedError(RuntimeError):
    """A step of the demo load failed; the message names the request and the answer."""


class _Client:
    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()

    def call(self, method: str, path: str, token: str | None = None, json=None, params=None) -> dict:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = self.http.request(
            method, self.base_url + path, json=json, params=params, headers=headers, timeout=TIMEOUT
        )
        if response.status_code not in (200, 201):
            raise SeedError(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
        return response.json()

    def login(self, username: str, password: str) -> str:
        return self.call("POST", "/api/v1/auth/token", json={"username": username, "password": password})[
            "access_token"
        ]


def _login_lines(base_url: str) -> list[str]:
    return [
        f"demo community {COMMUNITY}: zone {ZONE}, building {BUILDING}, unit {UNIT['number']} with its owner moved in",
        f"log in with POST {base_url.rstrip('/')}/api/v1/auth/token as "
        f"{BUTLER[0]} / {BUTLER[1]} (butler) or {RESIDENT_USER[0]} / {RESIDENT_USER[1]} (resident)",
    ]


def _ensure_user(client: _Client, token: str, body: dict) -> str:
    """The user's id; created unless a run interrupted between the users left it behind."""
    found = client.call("GET", "/api/v1/users", token, params={"username": body["username"]})
    if found["total"]:
        return found["items"][0]["id"]
    return client.call("POST", "/api/v1/users", token, json=body)["id"]


def _looks_like_jwt(credential: str) -> bool:
    return credential.startswith("eyJ") and credential.count(".") == 2


def seed(base_url: str, admin_credential: str) -> list[str]:
    """Load the demo community through the API; a second run finds user `butler` and changes nothing.

    `admin_credential` is the admin's password, or an admin bearer token (the CLI mints one: it holds the key).
    """
    client = _Client(base_url)
    try:
        token = admin_credential if _looks_like_jwt(admin_credential) else client.login("admin", admin_credential)
        existing = client.call("GET", "/api/v1/users", token, params={"username": BUTLER[0]})
        if existing["total"]:
            return _login_lines(base_url)

        community = client.call("POST", "/api/v1/communities", token, json={"name": COMMUNITY})
        zone = client.call("POST", "/api/v1/zones", token, json={"community_id": community["id"], "name": ZONE})
        building = client.call(
            "POST",
            "/api/v1/buildings",
            token,
            json={"community_id": community["id"], "name": BUILDING, "zone_id": zone["id"]},
        )
        unit = client.call("POST", "/api/v1/units", token, json={"building_id": building["id"], **UNIT})
        resident = client.call("POST", "/api/v1/residents", token, json={"unit_id": unit["id"], **RESIDENT})
        client.call("POST", f"/api/v1/units/{unit['id']}/move-in", token, json={"resident_id": resident["id"]})

        # The users come last: `butler` existing is what marks the demo as loaded.
        _ensure_user(
            client,
            token,
            {
                "username": RESIDENT_USER[0],
                "password": RESIDENT_USER[1],
                "role": "resident",
                "resident_id": resident["id"],
                "units": [unit["id"]],
            },
        )
        butler_id = _ensure_user(
            client,
            token,
            {
                "username": BUTLER[0],
                "password": BUTLER[1],
                "role": "butler",
                "communities": [community["id"]],
                "zones": [zone["id"]],
            },
        )
        # The zone's butler: tickets of the zone are routed to them, the zone's SMS reach them.
        client.call("PATCH", f"/api/v1/zones/{zone['id']}", token, json={"butler_ids": [butler_id]})
    finally:
        client.http.close()
    return _login_lines(base_url)
