"""Operator commands through the public API: `guanjia users create|reset-password|disable` and `guanjia load FILE`."""

from __future__ import annotations

import json
from pathlib import Path

from .demo import SeedError, _Client


class ProvisionError(SeedError):
    """A bad file or a refused request; the message says which entry and why."""


def _find_user(client: _Client, token: str, username: str) -> dict | None:
    found = client.call("GET", "/api/v1/users", token, params={"username": username})
    return found["items"][0] if found["total"] else None


def users(base_url: str, token: str, action: str, username: str, **options) -> list[str]:
    """create (role, password, display_name, communities, zones), reset-password or disable one account."""
    client = _Client(base_url)
    try:
        if action == "create":
            body = {"username": username, "role": options["role"]}
            for key in ("password", "display_name", "communities", "zones"):
                if options.get(key):
                    body[key] = options[key]
            created = client.call("POST", "/api/v1/users", token, json=body)
            lines = [f"user {username} created ({created['role']}, id {created['id']})"]
            if created.get("initial_password"):
                lines.append(f"one-time password (to be changed at the first sign-in): {created['initial_password']}")
            return lines
        user = _find_user(client, token, username)
        if user is None:
            raise ProvisionError(f"no user named {username}")
        if action == "reset-password":
            issued = client.call("POST", f"/api/v1/users/{user['id']}/reset-password", token)
            return [
                f"temporary password of {username} (to be changed at the next sign-in): {issued['temporary_password']}"
            ]
        if action == "disable":
            client.call("PATCH", f"/api/v1/users/{user['id']}", token, json={"active": False})
            return [f"user {username} disabled (refresh tokens revoked; access tokens stop within a minute)"]
        raise ProvisionError(f"unknown action {action}")
    finally:
        client.http.close()


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProvisionError(f"{path}: cannot read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ProvisionError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise ProvisionError(f"{path}: a JSON object with communities, fee_defaults and users is expected")
    return data


def _communities_by_name(client: _Client, token: str) -> dict[str, str]:
    names, page = {}, 1
    while True:
        found = client.call("GET", "/api/v1/communities", token, params={"page": page, "page_size": 100})
        names.update({item["name"]: item["id"] for item in found["items"]})
        if page * 100 >= found["total"]:
            return names
        page += 1


def load(base_url: str, token: str, path: str) -> list[str]:
    """Create the file's communities (by name, once), apply the fee defaults to each, create its users (once).

    The file (JSON): {"fee_defaults": {...} or "fee-defaults.json", "communities": [{"name": ..., "fee_defaults":
    {...}}], "users": [{"username": ..., "role": ..., "communities": [names], ...}]}. Running it twice changes nothing
    new: existing communities and users are kept, the fee defaults are applied again (the same values)."""
    source = Path(path)
    data = _read(source)
    defaults = data.get("fee_defaults") or {}
    if isinstance(defaults, str):
        defaults = _read(source.parent / defaults)
    client = _Client(base_url)
    lines: list[str] = []
    try:
        known = _communities_by_name(client, token)
        for entry in data.get("communities") or []:
            name = entry["name"] if isinstance(entry, dict) else entry
            if name in known:
                lines.append(f"community {name}: exists")
            else:
                known[name] = client.call("POST", "/api/v1/communities", token, json={"name": name})["id"]
                lines.append(f"community {name}: created")
            policy = {**defaults, **((entry.get("fee_defaults") or {}) if isinstance(entry, dict) else {})}
            if policy:
                client.call("PATCH", f"/api/v1/billing/policies/{known[name]}", token, json=policy)
                lines.append(f"community {name}: fee defaults applied ({', '.join(sorted(policy))})")
        for entry in data.get("users") or []:
            body = {key: value for key, value in entry.items() if key != "communities"}
            missing = [c for c in entry.get("communities") or [] if c not in known and c not in known.values()]
            if missing:
                raise ProvisionError(f"user {entry.get('username')}: unknown communities {', '.join(missing)}")
            if entry.get("communities"):
                body["communities"] = [known.get(c, c) for c in entry["communities"]]
            if _find_user(client, token, entry["username"]):
                lines.append(f"user {entry['username']}: exists")
                continue
            created = client.call("POST", "/api/v1/users", token, json=body)
            line = f"user {entry['username']}: created ({created['role']})"
            if created.get("initial_password"):
                line += f", one-time password {created['initial_password']}"
            lines.append(line)
    except KeyError as exc:
        raise ProvisionError(f"{source}: an entry lacks {exc.args[0]!r}") from None
    finally:
        client.http.close()
    return lines
