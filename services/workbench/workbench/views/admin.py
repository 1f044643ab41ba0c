"""管理 (administration): staff accounts — created with their role, communities and zones in one form, a password
reset, disabled or enabled — and integrator API keys (scopes and expiry, the secret shown once, revoked).

Every call is the gateway's admin-only API; a butler's zones are residents' zones (the one source of zone
membership), so the form's zones are written there, on each zone's butlers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from .. import client
from ..i18n import label
from .common import items
from .forms import attempt, communities, form_values, q

bp = Blueprint("admin", __name__, url_prefix="/admin")

STAFF_ROLES = ("butler", "senior_butler", "cs_manager", "engineer", "finance", "admin")
ZONE_ROLES = ("butler",)  # the roles residents assigns to zones (the gateway's ZONE_SCOPED_ROLES)
DEPARTMENTS = ("engineering", "security", "cleaning", "landscaping", "customer_service")
USER_FIELDS = ("username", "display_name", "phone", "role", "department", "password")
# What an integrator's key may read (the gateway's API_KEY_RESOURCES), in words.
RESOURCES = {
    "communities": lazy_gettext("Communities"),
    "zones": lazy_gettext("Zones"),
    "buildings": lazy_gettext("Buildings"),
    "units": lazy_gettext("Units"),
    "residents": lazy_gettext("Residents"),
    "tickets": lazy_gettext("Tickets"),
    "billing": lazy_gettext("Billing"),
    "notifications": lazy_gettext("Notifications"),
}


def _community_names() -> dict:
    return {c["id"]: c["name"] for c in communities()}


def _zones_of(community_ids) -> list:
    """The zones of these communities with their butlers (residents' answer), each with its community's name."""
    names = _community_names()
    found = []
    for community_id in community_ids:
        for zone in items(client.get_or_none("/api/v1/zones", {"community_id": community_id, "page_size": 100})):
            found.append({**zone, "community_name": names.get(community_id, "")})
    return found


def _user_page(values: dict, errors: dict, status: int = 200):
    chosen = values.get("communities") or []
    page = render_template(
        "admin_user_new.html",
        roles=STAFF_ROLES,
        departments=DEPARTMENTS,
        communities=communities(),
        zones=_zones_of(chosen),
        values=values,
        errors=errors,
    )
    return page, status


@bp.get("")
def index():
    return redirect(url_for("admin.users"))


@bp.get("/users")
def users():
    """Accounts of the instance (oldest first), filtered by username, role and whether active."""
    args = {n: request.args[n].strip() for n in ("username", "role", "active") if request.args.get(n, "").strip()}
    page = int(request.args.get("page", "1")) if request.args.get("page", "").isdigit() else 1
    found = client.get("/api/v1/users", {**args, "page": page, "page_size": 50})
    return render_template(
        "admin_users.html",
        users=items(found),
        total=found.get("total") if isinstance(found, dict) else None,
        page=page,
        roles=STAFF_ROLES + ("resident", "integrator"),
        filters=args,
        community_names=_community_names(),
    )


@bp.get("/users/new")
def new_user():
    return _user_page({"role": "butler"}, {})


@bp.get("/zone-choices")
def zone_choices():
    """htmx: the zones of the ticked communities, to tick the new butler's zones."""
    chosen = request.args.getlist("communities")
    ticked = request.args.getlist("zones")  # kept ticked when another community is ticked too
    return render_template("admin_zone_choices.html", zones=_zones_of(chosen), values={"zones": ticked}, errors={})


def _assign_zones(user_id: str, zone_ids: list) -> dict:
    """Add the user to each zone's butlers in residents; {} or the errors of the zones residents refused."""
    errors = {}
    for zone_id in zone_ids:
        zone, refused = attempt(client.get, f"/api/v1/zones/{q(zone_id)}")
        if not refused:
            butlers = list(dict.fromkeys([*(zone.get("butler_ids") or []), user_id]))
            _done, refused = attempt(client.patch, f"/api/v1/zones/{q(zone_id)}", {"butler_ids": butlers})
        if refused:
            errors["zones"] = next(iter(refused.values()))
    return errors


@bp.post("/users")
def create_user():
    values = form_values(*USER_FIELDS)
    values["communities"] = [c for c in request.form.getlist("communities") if c]
    values["zones"] = [z for z in request.form.getlist("zones") if z]
    body = {k: v for k, v in values.items() if k != "zones"}
    if values.get("role") not in ("engineer",):
        body.pop("department", None)
    if values.get("role") in ZONE_ROLES:
        body["zones"] = values["zones"]  # the last known answer; residents' assignment below is the source
    elif values["zones"]:
        return _user_page(values, {"zones": _("Only butlers are assigned to zones.")}, 422)
    if not body.get("password"):
        body.pop("password", None)  # the gateway generates a one-time password, shown once below
    else:
        body["must_change_password"] = True
    user, errors = attempt(client.post, "/api/v1/users", body)
    if errors:
        values.pop("password", None)
        return _user_page(values, errors, 422)
    zone_errors = _assign_zones(user["id"], values["zones"]) if values.get("role") in ZONE_ROLES else {}
    return _user_detail(user["id"], issued=user.get("initial_password"), errors=zone_errors, created=True)


def _set_zones(user_id: str, wanted: list, community_ids) -> dict:
    """Make the user a butler of exactly the `wanted` zones among those of these communities (residents' zones:
    added where missing, taken off the others); {} or the error of a zone residents refused."""
    errors, listed = {}, _zones_of(community_ids)
    for zone in listed:
        butlers = zone.get("butler_ids") or []
        if (user_id in butlers) == (zone["id"] in wanted):
            continue
        changed = [b for b in butlers if b != user_id] if user_id in butlers else [*butlers, user_id]
        _done, refused = attempt(client.patch, f"/api/v1/zones/{q(zone['id'])}", {"butler_ids": changed})
        if refused:
            errors["zones"] = next(iter(refused.values()))
    extra = [
        z for z in wanted if z not in {zone["id"] for zone in listed}
    ]  # a zone outside the listed communities: residents decides
    return {**errors, **_assign_zones(user_id, extra)}


def _user_detail(user_id: str, *, issued=None, errors=None, created=False, status=200, values=None, saved=False):
    user = client.get(f"/api/v1/users/{q(user_id)}")
    names = _community_names()
    # Residents' zones are where zone membership lives: the zones naming this user among their butlers.
    zones = [z for z in _zones_of(user.get("communities") or []) if user_id in (z.get("butler_ids") or [])]
    if values is None:
        values = {
            "role": user.get("role"),
            "department": user.get("department") or "",
            "display_name": user.get("display_name") or "",
            "communities": user.get("communities") or [],
            "zones": [z["id"] for z in zones],
        }
    page = render_template(
        "admin_user.html",
        user=user,
        community_names=[names.get(c, c) for c in user.get("communities") or []],
        zones=zones,
        issued=issued,
        created=created,
        saved=saved,
        errors=errors or {},
        values=values,
        roles=STAFF_ROLES,
        departments=DEPARTMENTS,
        communities=communities(),
        zone_choices=_zones_of(values.get("communities") or []),
    )
    # A one-time password is in this page: no cache may keep it.
    return page, status, {"Cache-Control": "no-store"}


@bp.get("/users/<user_id>")
def user(user_id):
    return _user_detail(user_id)


@bp.post("/users/<user_id>")
def edit_user(user_id):
    """Change the role, name, phone, department, communities and (for butlers) zones in one form: the gateway's
    account first (it decides and audits), then the zones' butlers in residents, as creating does."""
    before = client.get(f"/api/v1/users/{q(user_id)}")
    if before.get("role") not in STAFF_ROLES:
        refusal = {"role": _("A resident's or an integrator's account is not changed here.")}
        return _user_detail(user_id, errors=refusal, status=422)
    values = form_values("display_name", "phone", "role", "department")
    values["communities"] = [c for c in request.form.getlist("communities") if c]
    values["zones"] = [z for z in request.form.getlist("zones") if z]
    butler = values.get("role") in ZONE_ROLES
    if values["zones"] and not butler:
        return _user_detail(
            user_id, errors={"zones": _("Only butlers are assigned to zones.")}, values=values, status=422
        )
    body = {k: values[k] for k in ("role", "display_name", "communities") if k in values}
    body["communities"] = values["communities"]
    body["department"] = values.get("department") if values.get("role") == "engineer" else None
    body["zones"] = values["zones"] if butler else []  # the last known answer; residents' zones are the source
    if values.get("phone"):
        body["phone"] = values["phone"]  # shown masked: an empty field keeps the number
    _done, errors = attempt(client.patch, f"/api/v1/users/{q(user_id)}", body)
    if errors:
        values.pop("phone", None)
        return _user_detail(user_id, errors=errors, values=values, status=422)
    # Off the zones of the communities it had and has; onto the ticked ones (none unless a butler).
    scope = list(dict.fromkeys([*(before.get("communities") or []), *values["communities"]]))
    zone_errors = _set_zones(user_id, values["zones"] if butler else [], scope)
    if zone_errors:
        return _user_detail(user_id, errors=zone_errors, values=values, status=422)
    return _user_detail(user_id, saved=True)


@bp.post("/users/<user_id>/reset-password")
def reset_password(user_id):
    issued, errors = attempt(client.post, f"/api/v1/users/{q(user_id)}/reset-password")
    if errors:
        return _user_detail(user_id, errors=errors, status=422)
    return _user_detail(user_id, issued=issued["temporary_password"])


@bp.post("/users/<user_id>/active")
def set_active(user_id):
    """Disable (the gateway revokes the account's sessions at once) or enable again."""
    active = request.form.get("active") == "1"
    _done, errors = attempt(client.patch, f"/api/v1/users/{q(user_id)}", {"active": active})
    if errors:
        return _user_detail(user_id, errors=errors, status=422)
    return redirect(url_for("admin.user", user_id=user_id), code=303)


# --- integrator API keys -------------------------------------------------------------------------------------------


def _local_day(text: str, errors: dict, field: str, *, end: bool) -> str | None:
    """A date input as the start (or the end) of that local day, in UTC ISO."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors[field] = _("Use the form 2027-03-01.")
        return None
    tz = ZoneInfo(current_app.extensions["guanjia.settings"].timezone)
    moment = datetime.combine(day, time(23, 59, 59) if end else time(0, 0), tzinfo=tz)
    return moment.astimezone(UTC).isoformat()


def _keys_page(values: dict, errors: dict, *, issued=None, status: int = 200):
    found = items(client.get("/api/v1/api-keys", {"page_size": 100}))
    people: dict = {}
    for key in found:
        creator = key.get("created_by")
        if creator and creator not in people:
            person = client.get_or_none(f"/api/v1/users/{q(creator)}") or {}
            people[creator] = person.get("display_name") or person.get("username") or ""
    page = render_template(
        "admin_keys.html",
        keys=found,
        people=people,
        communities=communities(),
        community_names=_community_names(),
        resources=RESOURCES,
        values=values,
        errors=errors,
        issued=issued,
    )
    return page, status, {"Cache-Control": "no-store"}


@bp.get("/keys")
def keys():
    return _keys_page({"communities": [], "resources": []}, {})


@bp.post("/keys")
def create_key():
    values = form_values("name", "expires_on")
    values["communities"] = [c for c in request.form.getlist("communities") if c]
    values["resources"] = [r for r in request.form.getlist("resources") if r]
    body = {k: values[k] for k in ("name", "communities", "resources") if k in values}
    errors = {}
    if values.get("expires_on"):
        body["expires_at"] = _local_day(values["expires_on"], errors, "expires_on", end=True)
    if not errors:
        issued, errors = attempt(client.post, "/api/v1/api-keys", body)
        errors = {("expires_on" if k == "expires_at" else k): v for k, v in errors.items()}
    if errors:
        return _keys_page(values, errors, status=422)
    return _keys_page({"communities": [], "resources": []}, {}, issued=issued)


@bp.post("/keys/<key_id>/revoke")
def revoke_key(key_id):
    _done, errors = attempt(client.post, f"/api/v1/api-keys/{q(key_id)}/revoke")
    if errors:
        return _keys_page({"communities": [], "resources": []}, errors, status=422)
    return redirect(url_for("admin.keys"), code=303)


# --- dead-lettered events ------------------------------------------------------------------------------------------

SERVICES = {
    "residents": lazy_gettext("Residents and property"),
    "tickets": lazy_gettext("Tickets"),
    "billing": lazy_gettext("Billing"),
    "notifications": lazy_gettext("Notifications"),
    "community": lazy_gettext("Community service"),
    "staff": lazy_gettext("Staff"),
}


def _dead_letters_page(done=None, errors=None, status=200):
    found = client.get("/api/v1/dead-letters")
    page = render_template(
        "admin_dead_letters.html",
        letters=found.get("items") or [],
        unavailable=[str(SERVICES.get(s, s)) for s in found.get("unavailable") or []],
        services=SERVICES,
        done=done,
        errors=errors or {},
    )
    return page, status


@bp.get("/dead-letters")
def dead_letters():
    """Events a consumer gave up on, by service, with the reason (ids only: never an event's body)."""
    return _dead_letters_page()


@bp.post("/dead-letters/<action>")
def dead_letters_act(action):
    """Replay (another full round of attempts) or discard one dead letter, or every one of a service."""
    if action not in ("replay", "discard"):
        return _dead_letters_page(errors={"_": _("Replay or discard.")}, status=422)
    body = {"service": request.form.get("service", "")}
    if request.form.get("all"):
        body["all"] = True
    else:
        body["ids"] = [i for i in request.form.getlist("ids") if i]
    answer, errors = attempt(client.post, f"/api/v1/dead-letters/{action}", body)
    if errors:
        return _dead_letters_page(errors=errors, status=422)
    return _dead_letters_page(done={"action": action, **answer})


# --- the audit log ---------------------------------------------------------------------------------------------------

ACTIONS = {
    "user.created": lazy_gettext("Account created"),
    "user.role_changed": lazy_gettext("Role changed"),
    "user.scope_changed": lazy_gettext("Communities or zones changed"),
    "user.disabled": lazy_gettext("Account disabled"),
    "user.enabled": lazy_gettext("Account enabled"),
    "user.password_reset": lazy_gettext("Password reset"),
    "user.password_changed": lazy_gettext("Password changed"),
    "user.locked": lazy_gettext("Account locked (wrong passwords)"),
    "refresh_token.reused": lazy_gettext("Used sign-in presented again"),
    "scope.stand_in_cover": lazy_gettext("Stand-in cover of zones"),
    "api_key.issued": lazy_gettext("API key issued"),
    "api_key.revoked": lazy_gettext("API key revoked"),
    "payment.reversed": lazy_gettext("Payment reversed"),
    "renovation.approved": lazy_gettext("Renovation approved"),
    "personal_data.viewed": lazy_gettext("Personal data viewed in full"),
    "personal_data.searched": lazy_gettext("Searched by phone or ID number"),
    "dead_letters.replay": lazy_gettext("Dead letters replayed"),
    "dead_letters.discard": lazy_gettext("Dead letters discarded"),
}
TARGETS = {
    "user": lazy_gettext("User account"),
    "api_key": lazy_gettext("API key"),
    "payment": lazy_gettext("Payment"),
    "renovation": lazy_gettext("Renovation"),
    "resident": lazy_gettext("Resident"),
    "dead_letters": lazy_gettext("Dead letters"),
}
AUDIT_FILTERS = ("username", "action", "community_id", "since", "until")


def _names(ids) -> dict:
    """Accounts' names by id, for the actors and the account targets of one page (one call per person)."""
    names = {}
    for user_id in dict.fromkeys(i for i in ids if i):
        person = client.get_or_none(f"/api/v1/users/{q(user_id)}")
        if person:
            names[user_id] = person.get("display_name") or person.get("username")
    return names


@bp.get("/audit")
def audit():
    """The audit log, newest first, by who (a username), what, when (local days) and community."""
    filters = {n: request.args[n].strip() for n in AUDIT_FILTERS if request.args.get(n, "").strip()}
    page = int(request.args["page"]) if request.args.get("page", "").isdigit() else 1
    params, errors = {"page": page, "page_size": 50}, {}
    if filters.get("username"):
        found = items(client.get("/api/v1/users", {"username": filters["username"], "page_size": 1}))
        if found:
            params["actor_id"] = found[0]["id"]
        else:
            errors["username"] = _("No account has this username.")
    for name in ("action", "community_id"):
        if filters.get(name):
            params[name] = filters[name]
    for name in ("since", "until"):
        if filters.get(name):
            params[name] = _local_day(filters[name], errors, name, end=name == "until")
    entries, total = [], 0
    if not errors:
        answer, errors = attempt(client.get, "/api/v1/audit", params)
        if answer:
            entries, total = items(answer), answer.get("total") or 0
    names = _names(
        [e.get("actor_id") for e in entries] + [e["target_id"] for e in entries if e["target_type"] == "user"]
    )
    return render_template(
        "admin_audit.html",
        entries=entries,
        total=total,
        page=page,
        filters=filters,
        errors=errors,
        names=names,
        actions=ACTIONS,
        targets=TARGETS,
        community_options=[(c["id"], c["name"]) for c in communities()],
    ), 422 if errors else 200


# --- SLA policies and routing rules (the tickets API) ----------------------------------------------------------------

TICKET_CATEGORIES = ("repair", "complaint", "inquiry", "suggestion", "praise", "service_request", "dispute")
PRIORITIES = ("low", "normal", "high", "emergency")


def _send(method: str, path: str, json=None):
    return client.decode(client.raw(method, path, json=json))


def _hours(minutes) -> str:
    """Minutes as people read a deadline: 30 分钟, 4 小时, 3 天."""
    minutes = int(minutes or 0)
    if minutes % (24 * 60) == 0:
        return _("%(n)s d", n=minutes // (24 * 60))
    if minutes % 60 == 0:
        return _("%(n)s h", n=minutes // 60)
    return _("%(m)s min", m=minutes)


def _rules_page(community_id: str, errors=None, values=None, status=200):
    chosen = communities()
    community_id = community_id or (chosen[0]["id"] if chosen else "")
    policies = rules = zones = staff = []
    if community_id:
        policies = items(client.get_or_none("/api/v1/tickets/sla-policies", {"community_id": community_id}))
        rules = items(client.get_or_none("/api/v1/tickets/routing-rules", {"community_id": community_id}))
        zones = items(client.get_or_none("/api/v1/zones", {"community_id": community_id, "page_size": 100}))
        staff = items(client.get_or_none("/api/v1/users/staff", {"community_id": community_id}))
    return render_template(
        "admin_ticket_rules.html",
        communities=chosen,
        community_id=community_id,
        policies=policies,
        rules=rules,
        zone_names={z["id"]: z["name"] for z in zones},
        staff_names={s["id"]: s.get("display_name") or s["username"] for s in staff},
        community_options=[(c["id"], c["name"]) for c in chosen],
        zone_options=[(z["id"], z["name"]) for z in zones],
        staff_options=[
            (s["id"], f"{s.get('display_name') or s['username']} · {label(s['role'], 'role')}") for s in staff
        ],
        categories=TICKET_CATEGORIES,
        priorities=PRIORITIES,
        departments=DEPARTMENTS,
        hours=_hours,
        errors=errors or {},
        values=values or {},
    ), status


@bp.get("/ticket-rules")
def ticket_rules():
    """A community's SLA (response and resolution time of every kind and priority) and its routing rules."""
    return _rules_page(request.args.get("community_id", "").strip())


@bp.post("/ticket-rules/sla")
def put_sla():
    values = form_values("community_id", "category", "priority", "response_minutes", "resolution_minutes")
    body = dict(values, business_hours=bool(request.form.get("business_hours")))
    for name in ("response_minutes", "resolution_minutes"):
        if body.get(name, "").isdigit():
            body[name] = int(body[name])
    _done, errors = attempt(_send, "PUT", "/api/v1/tickets/sla-policies", body)
    if errors:
        key = f"{values.get('category')}-{values.get('priority')}"
        return _rules_page(values.get("community_id", ""), {key: "; ".join(map(str, errors.values()))}, status=422)
    return redirect(url_for("admin.ticket_rules", community_id=values["community_id"]), code=303)


@bp.post("/ticket-rules/routing")
def add_routing_rule():
    values = form_values("community_id", "category", "subcategory", "zone_id", "department", "assignee_id")
    _done, errors = attempt(client.post, "/api/v1/tickets/routing-rules", values)
    if errors:
        return _rules_page(values.get("community_id", ""), errors, values, 422)
    return redirect(url_for("admin.ticket_rules", community_id=values["community_id"]), code=303)


@bp.post("/ticket-rules/routing/<rule_id>/delete")
def delete_routing_rule(rule_id):
    community_id = request.form.get("community_id", "")
    _done, errors = attempt(_send, "DELETE", f"/api/v1/tickets/routing-rules/{q(rule_id)}")
    if errors:
        return _rules_page(community_id, errors, status=422)
    return redirect(url_for("admin.ticket_rules", community_id=community_id), code=303)


# --- SMS templates and the provider settings in force (the notifications API) ----------------------------------------

PROVIDERS = {
    "console": lazy_gettext("Console (test: written to the log)"),
    "aliyun": lazy_gettext("Alibaba Cloud SMS"),
    "tencent": lazy_gettext("Tencent Cloud SMS"),
    "twilio": lazy_gettext("Twilio"),
}
PROVIDER_FIELDS = {
    "access_key_id": lazy_gettext("AccessKey ID"),
    "access_key_secret": lazy_gettext("AccessKey secret"),
    "secret_id": lazy_gettext("SecretId"),
    "secret_key": lazy_gettext("SecretKey"),
    "sdk_app_id": lazy_gettext("SDK AppID"),
    "account_sid": lazy_gettext("Account SID"),
    "auth_token": lazy_gettext("Auth token"),
    "from_number": lazy_gettext("Sender number"),
    "messaging_service_sid": lazy_gettext("Messaging service SID"),
    "endpoint": lazy_gettext("Endpoint"),
    "region": lazy_gettext("Region"),
    "callback_token": lazy_gettext("Receipt callback token"),
    "status_callback_url": lazy_gettext("Status callback URL"),
}
SMS_LOCALE = "zh-CN"


def _sms_page(errors=None, values=None, status=200):
    found = client.get("/api/v1/notifications/templates")
    return render_template(
        "admin_sms.html",
        templates=items(found),
        settings=client.get_or_none("/api/v1/notifications/provider"),
        providers=PROVIDERS,
        fields=PROVIDER_FIELDS,
        locale=SMS_LOCALE,
        errors=errors or {},
        values=values or {},
    ), status


@bp.get("/sms")
def sms():
    """The SMS templates (the instance's wording where set) and the provider settings in force, secrets masked."""
    return _sms_page()


@bp.post("/sms/templates/<key>")
def set_sms_template(key):
    text = request.form.get("text", "").strip()
    _done, errors = attempt(_send, "PUT", f"/api/v1/notifications/templates/{q(key)}/{SMS_LOCALE}", {"text": text})
    if errors:
        return _sms_page({key: "; ".join(map(str, errors.values()))}, {key: text}, 422)
    return redirect(url_for("admin.sms") + f"#template-{key}", code=303)
