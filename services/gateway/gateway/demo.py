"""The demo community, loaded through the gateway's HTTP API exactly as a client would (both run modes)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta

import requests

from guanjia.db import utcnow

COMMUNITY = "阳光花园 Sunshine Garden"
ZONE = "一区"
BUILDING = "1栋"
UNIT = {"number": "1-101", "floor": 1, "area_m2": "89.50"}
RESIDENT = {"name": "张三", "phone": "13800138000", "role": "owner"}
# A second household, whose unit is being renovated (with a violation found on site) and whose bill is unpaid.
UNIT_2 = {"number": "1-102", "floor": 1, "area_m2": "76.20"}
RESIDENT_2 = {"name": "李四", "phone": "13900139000", "role": "owner"}
BUTLER = ("butler", "garden-walk-2026")
RESIDENT_USER = ("resident", "home-1-101-sunny")
ENGINEER = ("engineer", "fix-pipes-2026")
# The login the demo creates last: once it exists the whole demo is loaded (seed's marker, /readyz's check).
LOADED_BY = RESIDENT_USER[0]
# The demo tickets, one per state a newcomer meets on the screens: (category, subcategory, description, how far).
TICKETS = [
    ("repair", "plumbing", "厨房水龙头滴水", "new"),
    ("repair", "electrical", "客厅插座没电", "assigned"),
    ("repair", "lift", "1栋电梯按钮失灵", "in_progress"),
    ("complaint", "noise", "楼上夜间装修噪音", "resolved"),
    ("inquiry", None, "物业费缴费方式咨询", "closed"),
]
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
        f"{BUTLER[0]} / {BUTLER[1]} (butler), {ENGINEER[0]} / {ENGINEER[1]} (engineer) "
        f"or {RESIDENT_USER[0]} / {RESIDENT_USER[1]} (resident)",
    ]


def _ensure_user(client: _Client, token: str, body: dict) -> str:
    """The user's id; created unless a run interrupted between the users left it behind."""
    found = client.call("GET", "/api/v1/users", token, params={"username": body["username"]})
    if found["total"]:
        return found["items"][0]["id"]
    return client.call("POST", "/api/v1/users", token, json=body)["id"]


def _looks_like_jwt(credential: str) -> bool:
    return credential.startswith("eyJ") and credential.count(".") == 2


def seed(base_url: str, admin_credential: str, *, clock: Callable[[], datetime] = utcnow) -> list[str]:
    """Load the demo community through the API; a second run finds user `resident` (LOADED_BY) and changes nothing.

    `admin_credential` is the admin's password, or an admin bearer token (the CLI mints one: it holds the key).
    """
    client = _Client(base_url)
    try:
        token = admin_credential if _looks_like_jwt(admin_credential) else client.login("admin", admin_credential)
        existing = client.call("GET", "/api/v1/users", token, params={"username": LOADED_BY})
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
        unit_2 = client.call("POST", "/api/v1/units", token, json={"building_id": building["id"], **UNIT_2})
        owner_2 = client.call("POST", "/api/v1/residents", token, json={"unit_id": unit_2["id"], **RESIDENT_2})
        client.call("POST", f"/api/v1/units/{unit_2['id']}/move-in", token, json={"resident_id": owner_2["id"]})

        engineer_id = _ensure_user(
            client,
            token,
            {
                "username": ENGINEER[0],
                "password": ENGINEER[1],
                "role": "engineer",
                "display_name": "王师傅",
                "department": "engineering",
                "communities": [community["id"]],
            },
        )
        engineer = client.login(*ENGINEER)
        _tickets(client, token, engineer, engineer_id, unit, resident)
        _patrol(client, token, engineer, engineer_id, community, zone)
        _renovation(client, token, unit_2, owner_2, clock())
        _billing(client, token, community, [unit, unit_2])
        client.call(
            "POST",
            "/api/v1/notifications/notices",
            token,
            json={
                "community_id": community["id"],
                "scope": "community",
                "title": "停水通知",
                "body": "12月5日9:00-12:00因管道检修，1栋停水，请提前储水。",
            },
        )

        # The logins come last, and the one created last (LOADED_BY) marks the demo as loaded: /readyz waits for
        # it, so a script that signs in after /readyz finds the zone's butler set too (and a run interrupted before
        # it loads the demo again instead of stopping half-way).
        butler_id = _ensure_user(
            client,
            token,
            {
                "username": BUTLER[0],
                "password": BUTLER[1],
                "role": "butler",
                "display_name": "陈管家",
                "communities": [community["id"]],
                "zones": [zone["id"]],
            },
        )
        # The zone's butler: tickets of the zone are routed to them, the zone's SMS reach them.
        client.call("PATCH", f"/api/v1/zones/{zone['id']}", token, json={"butler_ids": [butler_id]})
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
    finally:
        client.http.close()
    return _login_lines(base_url)


def _tickets(client: _Client, token: str, engineer: str, engineer_id: str, unit: dict, resident: dict) -> None:
    """Tickets filed at the desk by phone, taken as far as their demo state: the engineer starts and resolves."""
    steps = ["assigned", "in_progress", "resolved", "closed"]
    for category, subcategory, description, state in TICKETS:
        body = {"unit_id": unit["id"], "category": category, "description": description, "channel": "phone"}
        body.update({"reporter_id": resident["id"], **({"subcategory": subcategory} if subcategory else {})})
        ticket = client.call("POST", "/api/v1/tickets", token, json=body)
        reached = steps[: steps.index(state) + 1] if state in steps else []
        path = f"/api/v1/tickets/{ticket['id']}"
        for step in reached:
            if step == "assigned":
                assign = {"department": "engineering", "assignee_id": engineer_id, "reason": "派给工程部"}
                client.call("POST", f"{path}/assign", token, json=assign)
            elif step == "in_progress":
                client.call("POST", f"{path}/start", engineer, json={"note": "已上门查看"})
            elif step == "resolved":
                client.call("POST", f"{path}/resolve", engineer, json={"note": "已处理完毕"})
            elif step == "closed":
                visit = {"outcome": "reached", "satisfaction": 5, "comment": "业主满意"}
                client.call("POST", f"{path}/visits", token, json=visit)


def _patrol(client: _Client, token: str, engineer: str, engineer_id: str, community: dict, zone: dict) -> None:
    """A daily plan of the zone with three checkpoints, and today's round under way (one checkpoint scanned)."""
    plan = client.call(
        "POST",
        "/api/v1/tickets/patrols/plans",
        token,
        json={
            "community_id": community["id"],
            "zone_id": zone["id"],
            "name": "一区日常巡查",
            "frequency": "daily",
            "staff_ids": [engineer_id],
            "checkpoints": [
                {"code": "CP-1-GATE", "name": "1栋大堂门禁"},
                {"code": "CP-1-PUMP", "name": "1栋地下泵房"},
                {"code": "CP-1-ROOF", "name": "1栋天台"},
            ],
        },
    )
    round_ = client.call("POST", "/api/v1/tickets/patrols/rounds", engineer, json={"plan_id": plan["id"]})
    client.call("POST", f"/api/v1/tickets/patrols/rounds/{round_['id']}/scans", engineer, json={"code": "CP-1-GATE"})


def _renovation(client: _Client, token: str, unit: dict, owner: dict, now: datetime) -> None:
    """A renovation applied for, reviewed, approved, and inspected with a violation to rectify within 3 days."""
    today = date.today()
    renovation = client.call(
        "POST",
        "/api/v1/renovations",
        token,
        json={
            "unit_id": unit["id"],
            "applicant_id": owner["id"],
            "contractor": {"name": "安居装饰有限公司", "phone": "13700137000"},
            "workers": [{"name": "赵工"}],
            "items": [{"description": "厨房、卫生间翻新", "structural": False}],
            "planned_start": today.isoformat(),
            "planned_end": (today + timedelta(days=45)).isoformat(),
        },
    )
    path = f"/api/v1/renovations/{renovation['id']}"
    client.call("POST", f"{path}/review", token, json={"passed": True, "notes": "不涉及承重结构"})
    client.call("POST", f"{path}/approve", token, json={})
    rectify_by = (now + timedelta(days=3)).replace(microsecond=0).isoformat()
    client.call(
        "POST",
        f"{path}/inspections",
        token,
        json={
            "findings": "施工垃圾堆放在楼道",
            "violation": {
                "category": "debris",
                "severity": "minor",
                "evidence": "楼道堆放建筑垃圾",
                "rectify_by": rectify_by,
            },
        },
    )


def _billing(client: _Client, token: str, community: dict, units: list[dict]) -> None:
    """Property fee per m² billed for last month; the first unit's bill is paid by WeChat, the second is owed."""
    today = date.today()
    period = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    client.call(
        "POST",
        "/api/v1/billing/fee-items",
        token,
        json={
            "community_id": community["id"],
            "name": "物业服务费",
            "kind": "property_service",
            "basis": "per_m2",
            "rate": "2.50",
            "effective_from": f"{period}-01",
        },
    )
    for unit in units:  # billing learns units from unit.created; asking for each one settles any that is late
        _until(lambda unit=unit: client.call("GET", f"/api/v1/billing/units/{unit['id']}", token))
    client.call("POST", "/api/v1/billing-runs", token, json={"community_id": community["id"], "period": period})
    bills = client.call("GET", "/api/v1/billing/bills", token, params={"unit_id": units[0]["id"]})["items"]
    if bills:
        bill = bills[0]
        client.call(
            "POST",
            "/api/v1/payments",
            token,
            json={
                "unit_id": units[0]["id"],
                "amount": bill["outstanding"],
                "method": "wechat",
                "bill_ids": [bill["id"]],
            },
        )


def _until(call, attempts: int = 20):
    """The call's answer, retried briefly while another service has not caught up (events are asynchronous)."""
    for attempt in range(attempts):
        try:
            return call()
        except SeedError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.1)
    return None
