"""住户 — the residents' mobile pages under /m/: sign in by phone and SMS code, my household, bills and receipts,
pay a bill at the payment provider, report a repair with photos, follow my tickets and answer the return visit,
the notices sent to me, my in-app inbox, binding my WeChat to my household (OAuth snsapi_base), and my community:
the satisfaction survey my household was asked, the published 百问百答 and local directory, the activities, and
my birthday greeting (opt in with a month and day, opt out).

A resident's session has its own cookie (path /m/) and is refused by every staff page; a staff session is never
read here. Every page asks the API with the resident's own token: the API keeps them to their household."""

from __future__ import annotations

import secrets
from datetime import datetime
from urllib.parse import urlencode

import requests
from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer

from guanjia import web

from .. import client, i18n, security, sessions
from . import inbox as my_inbox
from .auth import end_session, problem_of
from .common import items, me
from .forms import attempt, q
from .tickets import _upload, attachment_response

bp = Blueprint("mobile", __name__, url_prefix="/m")
COOKIE = "gj_resident"
ROLE = "resident"
PUBLIC = frozenset(["mobile.signin", "mobile.send_code", "mobile.signin_post"])
MAX_PHOTOS = 5
SATISFACTION = (5, 4, 3, 2, 1)
# A ticket the resident may still answer the return visit of.
VISIT_DUE = "resolved"


def _database():
    return current_app.extensions["workbench.db"]


def begin(database, idle):
    """The before-request of every /m/ page (called by the app instead of the staff one): the resident's session,
    its CSRF check, and the mobile sign-in page for anyone without one."""
    web_session = sessions.load(database, request.cookies.get(COOKIE), web.now(), idle)
    # Only a resident's session opens these pages (a staff session lives under another cookie and never here).
    g.web_session = web_session if web_session is not None and web_session.role == ROLE else None
    g.locale = i18n.select_locale()
    security.check_csrf()
    if g.web_session is None and request.endpoint not in PUBLIC:
        return to_sign_in()
    return None


def to_sign_in():
    target = url_for("mobile.signin")
    if request.headers.get("HX-Request"):
        response = Response(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)


# ---------------------------------------------------------------- sign-in by SMS code


@bp.get("/signin")
def signin():
    if g.get("web_session") is not None:
        return redirect(url_for("mobile.home"))
    return render_template("m_signin.html", phone="", code_sent=False, errors={})


@bp.post("/signin/code")
def send_code():
    """Ask the gateway to text a code (it answers the same whether or not the phone is a resident's)."""
    phone = request.form.get("phone", "").strip()
    response = client.call("POST", "/api/v1/auth/sms-code", token=None, json={"phone": phone})
    if response.status == 202:
        return render_template("m_signin.html", phone=phone, code_sent=True, errors={})
    return _signin_refused(response, phone, code_sent=False)


@bp.post("/signin")
def signin_post():
    phone = request.form.get("phone", "").strip()
    code = request.form.get("code", "").strip()
    response = client.call("POST", "/api/v1/auth/sms-token", token=None, json={"phone": phone, "code": code})
    if response.status != 200:
        return _signin_refused(response, phone, code_sent=True)
    tokens = response.json()
    person = client.decode(client.call("GET", "/api/v1/users/me", token=tokens["access_token"]))
    if person.get("role") != ROLE:
        abort(403)
    raw = sessions.create(_database(), tokens, person, web.now(), locale=g.get("locale"))
    answer = redirect(url_for("mobile.home"), code=303)
    answer.set_cookie(COOKIE, raw, httponly=True, samesite="Lax", secure=security.is_secure(), path="/m/")
    answer.delete_cookie(security.PRE_COOKIE, path="/")
    return answer


def _signin_refused(response, phone: str, *, code_sent: bool):
    problem = problem_of(response)
    errors = client.ApiError(response.status, problem).field_errors
    if response.status == 401:
        errors = {"code": _("Wrong or expired code; ask for a new one.")}
    elif response.status == 429:
        errors = {"_": _("Too many attempts; try again in a minute.")}
    elif response.status >= 500:
        errors = {"_": _("The service is unavailable; try again shortly.")}
    elif not errors:
        errors = {"_": str(problem.get("detail") or problem.get("title") or response.status)}
    page = render_template("m_signin.html", phone=phone, code_sent=code_sent, errors=errors)
    return page, 503 if response.status >= 500 else 422


@bp.post("/signout")
def signout():
    return end_session(COOKIE, "/m/", url_for("mobile.signin"))


# ---------------------------------------------------------------- my household, bills, receipts


def _units() -> list[dict]:
    """My current units (the token names them; a unit the API no longer shows me is left out)."""
    found = []
    for unit_id in me().get("units") or []:
        unit = client.get_or_none(f"/api/v1/units/{q(unit_id)}")
        if unit is not None:
            found.append(unit)
    return found


@bp.get("/")
def home():
    units = _units()
    for unit in units:
        unit["residents"] = items(client.get_or_none("/api/v1/residents", {"unit_id": unit["id"], "page_size": 50}))
        unit["account"] = client.get_or_none(f"/api/v1/billing/units/{q(unit['id'])}/account")
    return render_template("m_home.html", units=units, unread=my_inbox.unread_count())


@bp.get("/bills")
def bills():
    found = items(client.get_or_none("/api/v1/billing/bills", {"page_size": 100}))
    return render_template("m_bills.html", bills=found)


@bp.get("/bills/<bill_id>")
def bill(bill_id):
    found = client.get(f"/api/v1/billing/bills/{q(bill_id)}")
    return render_template("m_bill.html", bill=found, can_pay=bool(_provider()) and _owes(found))


def _provider() -> str:
    return current_app.extensions.get("workbench.payment_provider") or ""


@bp.post("/bills/<bill_id>/pay")
def pay(bill_id):
    """Open an order for what the bill still owes at the payment provider and offer its checkout page. The payment
    is recorded only by the provider's signed callback to billing, never by this page."""
    found = client.get(f"/api/v1/billing/bills/{q(bill_id)}")  # my bill, or the 404 page
    if not _provider() or not _owes(found):
        return redirect(url_for("mobile.bill", bill_id=bill_id), code=303)
    order = {
        "amount": found["outstanding"],
        "description": f"{found.get('description') or found['period']} · {found['period']}",
        "community_id": found["community_id"],
        "unit_id": found["unit_id"],
        "bill_ids": [found["id"]],
        "payer_id": me().get("resident_id"),
        "return_url": url_for("mobile.paid", bill_id=bill_id, _external=True),
    }
    try:
        answer = requests.post(f"{_provider()}/orders", json=order, timeout=10)
        opened = answer.json() if answer.status_code == 201 else None
    except (requests.RequestException, ValueError):
        opened = None
    # The resident is sent only to the configured provider's own pages, whatever its answer says.
    if not opened or not str(opened.get("checkout_url", "")).startswith(_provider() + "/"):
        raise client.Unavailable(503, {"title": _("The payment service is unavailable; try again shortly.")})
    # A link, not a redirect: the page's CSP lets forms post only to this site (form-action 'self').
    return render_template("m_pay.html", bill=found, checkout_url=opened["checkout_url"])


@bp.get("/bills/<bill_id>/paid")
def paid(bill_id):
    """Where the provider sends the payer back: the bill as billing now knows it, and its receipt once recorded."""
    found = client.get(f"/api/v1/billing/bills/{q(bill_id)}")
    payments = items(client.get_or_none("/api/v1/payments", {"unit_id": found["unit_id"], "page_size": 20}))
    order = request.args.get("order", "")
    mine = [p for p in payments if order and p.get("provider_reference") == order]
    return render_template("m_paid.html", bill=found, payment=mine[0] if mine else None)


def _owes(found: dict) -> bool:
    return bool(found.get("outstanding")) and found["outstanding"] not in ("0", "0.00")


@bp.get("/receipts")
def receipts():
    found = items(client.get_or_none("/api/v1/payments", {"page_size": 100}))
    return render_template("m_receipts.html", payments=found)


@bp.get("/receipts/<payment_id>")
def receipt(payment_id):
    return render_template("m_receipt.html", receipt=client.get(f"/api/v1/payments/{q(payment_id)}/receipt"))


# ---------------------------------------------------------------- repairs, my tickets, the return visit


@bp.get("/repair")
def repair():
    return render_template("m_repair.html", units=_units(), values={}, errors={})


@bp.post("/repair")
def repair_post():
    values = {k: request.form.get(k, "").strip() for k in ("unit_id", "description")}
    body = {"unit_id": values["unit_id"], "category": "repair", "description": values["description"]}
    if request.form.get("urgent"):
        body["urgent"] = values["urgent"] = True
    photos = [f for f in request.files.getlist("photos") if f and f.filename][:MAX_PHOTOS]
    ticket, errors = attempt(client.post, "/api/v1/tickets", {k: v for k, v in body.items() if v})
    if errors:
        return render_template("m_repair.html", units=_units(), values=values, errors=errors), 422
    for photo in photos:
        _upload(ticket["id"], photo)  # the desk's upload (patrols use it too), with my token
    return redirect(url_for("mobile.ticket", ticket_id=ticket["id"]), code=303)


@bp.get("/tickets")
def tickets():
    found = items(client.get_or_none("/api/v1/tickets", {"page_size": 50}))
    return render_template("m_tickets.html", tickets=found)


def _ticket_page(ticket_id: str, values=None, errors=None, status: int = 200):
    base = f"/api/v1/tickets/{q(ticket_id)}"
    ticket = client.get(base)
    page = render_template(
        "m_ticket.html",
        ticket=ticket,
        timeline=items(client.get_or_none(f"{base}/timeline")),
        notes=items(client.get_or_none(f"{base}/notes")),
        visits=items(client.get_or_none(f"{base}/visits")),
        attachments=items(client.get_or_none(f"{base}/attachments")),
        visit_due=ticket.get("status") == VISIT_DUE,
        satisfaction=SATISFACTION,
        values=values or {},
        errors=errors or {},
    )
    return page, status


@bp.get("/tickets/<ticket_id>")
def ticket(ticket_id):
    return _ticket_page(ticket_id)


@bp.post("/tickets/<ticket_id>/visit")
def visit(ticket_id):
    """My answer to the return visit: satisfaction 1–5 and a comment (3–5 closes the ticket, 1–2 reopens it)."""
    values = {k: request.form.get(k, "").strip() for k in ("satisfaction", "comment")}
    errors = {}
    if values["satisfaction"] not in {str(s) for s in SATISFACTION}:
        errors["satisfaction"] = _("Choose how satisfied you are.")
    else:
        body = {"outcome": "reached", "satisfaction": int(values["satisfaction"])}
        if values["comment"]:
            body["comment"] = values["comment"]
        errors = attempt(client.post, f"/api/v1/tickets/{q(ticket_id)}/visits", body)[1]
    if errors:
        return _ticket_page(ticket_id, values, errors, 422)
    return redirect(url_for("mobile.ticket", ticket_id=ticket_id), code=303)


@bp.get("/tickets/<ticket_id>/attachments/<attachment_id>")
def attachment(ticket_id, attachment_id):
    """A photo of my ticket through my own token."""
    return attachment_response(ticket_id, attachment_id)


# ---------------------------------------------------------------- notices


@bp.get("/notices")
def notices():
    """The community's notices as they reached me (the delivery log shows a resident only what was sent to them)."""
    found = items(client.get_or_none("/api/v1/notifications", {"page_size": 100}))
    return render_template("m_notices.html", notices=[n for n in found if n.get("notice_id")])


# ---------------------------------------------------------------- my inbox


@bp.get("/inbox")
def inbox():
    """Every notification to me, full text and links (no SMS cap), newest first; the API keeps it to mine."""
    unread_only = request.args.get("unread") == "1"
    found = my_inbox.page(unread_only, my_inbox.page_number())
    return render_template("m_inbox.html", inbox=found, unread_only=unread_only)


@bp.get("/inbox/<message_id>")
def inbox_message(message_id):
    """One message of mine (the page a WeChat template message links to): opening it reads it."""
    return render_template("m_inbox_message.html", message=my_inbox.https_links(my_inbox.mark_read(message_id)))


@bp.post("/inbox/<message_id>/read")
def inbox_read(message_id):
    my_inbox.mark_read(message_id)
    return redirect(url_for("mobile.inbox", unread=request.form.get("unread") or None), code=303)


# ---------------------------------------------------------------- my community: surveys, 百问百答, activities


def _communities() -> list[str]:
    """The communities of my current homes (the token names them)."""
    return list(me().get("communities") or [])


def _each_community(path: str, **params) -> list[dict]:
    """The rows of a community list of the API for each of my communities (a resident has one, rarely two)."""
    return [row for c in _communities() for row in items(client.get_or_none(path, {"community_id": c, **params}))]


def _my_units_in(community_id: str) -> list[dict]:
    return [unit for unit in _units() if unit.get("community_id") == community_id]


@bp.get("/surveys")
def surveys():
    """The surveys my household was asked to answer (open first), and whether we answered the open ones (a
    household has one or two open at a time; a closed one answers no more)."""
    found = _each_community("/api/v1/surveys", page_size=50)
    for survey in found:
        if survey.get("status") == "open":
            survey["mine"] = items(client.get_or_none(f"/api/v1/surveys/{q(survey['id'])}/answers", {"page_size": 1}))
    found.sort(key=lambda s: s.get("status") != "open")
    return render_template("m_surveys.html", surveys=found)


def _survey_page(survey_id: str, values=None, errors=None, status: int = 200):
    base = f"/api/v1/surveys/{q(survey_id)}"
    survey = client.get(base)  # one my household was asked, or the 404 page
    mine = items(client.get_or_none(f"{base}/answers", {"page_size": 10}))
    units = _my_units_in(survey["community_id"])
    answered = {a.get("unit_id") for a in mine}
    # An anonymous survey does not say which of my homes answered: one answer closes the form.
    open_units = [u for u in units if u["id"] not in answered] if not survey.get("anonymous") else []
    can_answer = survey["status"] == "open" and (not mine or bool(open_units))
    page = render_template(
        "m_survey.html",
        survey=survey,
        mine=mine,
        units=open_units or units,
        can_answer=can_answer,
        values=values or {},
        errors=errors or {},
    )
    return page, status


@bp.get("/surveys/<survey_id>")
def survey(survey_id):
    return _survey_page(survey_id)


def _answer_of(question: dict):
    """The form's value for a question in the API's shape (None: left unanswered)."""
    name = f"q-{question['id']}"
    if question["kind"] == "multiple":
        return [v for v in request.form.getlist(name) if v] or None
    value = request.form.get(name, "").strip()
    if not value:
        return None
    if question["kind"] in ("scale_5", "nps"):
        return int(value) if value.isdigit() else value
    return value


@bp.post("/surveys/<survey_id>")
def survey_answer(survey_id):
    """My household's answers, once (the API requires every required question and refuses a second answer)."""
    found = client.get(f"/api/v1/surveys/{q(survey_id)}")
    answers = {question["id"]: _answer_of(question) for question in found["questions"]}
    body = {"channel": "mobile", "answers": {k: v for k, v in answers.items() if v is not None}}
    if request.form.get("unit_id"):
        body["unit_id"] = request.form["unit_id"]
    try:
        client.post(f"/api/v1/surveys/{q(survey_id)}/answers", body)
    except client.Unavailable:
        raise
    except client.ApiError as exc:
        values = {k: v for k, v in answers.items() if v is not None}
        return _survey_page(survey_id, values, _answer_errors(exc, answers), 409 if exc.status == 409 else 422)
    return redirect(url_for("mobile.survey", survey_id=survey_id, done=1), code=303)


def _answer_errors(exc: client.ApiError, answers: dict) -> dict:
    """The API's refusal in the resident's words, under the question it names (its texts are for integrators)."""
    if exc.status == 409:  # closed meanwhile, or my household answered already: the page shows which
        return {"_": _("Your answer was not recorded.")}
    shown = {}
    for field, message in (exc.field_errors or {"_": exc.message}).items():
        question_id = field.removeprefix("answers.")
        if question_id == field:
            shown[field] = message
        elif answers.get(question_id) is None:
            shown[f"q-{question_id}"] = _("Please answer this question.")
        else:
            shown[f"q-{question_id}"] = _("Choose one of the answers offered.")
    return shown


@bp.get("/knowledge")
def knowledge():
    """The published 百问百答 and the local services and hotlines of my community, searched as I type."""
    query = request.args.get("q", "").strip()[:50]
    params = {"page_size": 100, **({"q": query} if query else {})}
    found = {"entries": _each_community("/api/v1/knowledge", **params)}
    found["directory"] = _each_community("/api/v1/directory", **params)
    template = "_m_knowledge.html" if request.headers.get("HX-Request") else "m_knowledge.html"
    return render_template(template, query=query, **found)


@bp.get("/activities")
def activities():
    """The activities and owner meetings announced in my community, latest first."""
    found = [a for a in _each_community("/api/v1/activities", page_size=50) if a.get("status") != "draft"]
    return render_template("m_activities.html", activities=found)


def _activity_page(activity_id: str, values=None, errors=None, status: int = 200):
    base = f"/api/v1/activities/{q(activity_id)}"
    activity = client.get(base)
    signups = items(client.get_or_none(f"{base}/signups", {"page_size": 20}))
    signed = {s["unit_id"] for s in signups}  # one sign-up per household, a withdrawn one included
    page = render_template(
        "m_activity.html",
        activity=activity,
        signups=signups,
        units=[u for u in _my_units_in(activity["community_id"]) if u["id"] not in signed],
        closed=_instant(activity["signup_closes_at"]) <= web.now(),
        values=values or {},
        errors=errors or {},
    )
    return page, status


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@bp.get("/activities/<activity_id>")
def activity(activity_id):
    return _activity_page(activity_id)


@bp.post("/activities/<activity_id>/signups")
def activity_signup(activity_id):
    """Sign my household up: confirmed while places last, then on the waiting list (the API decides)."""
    values = {k: request.form.get(k, "").strip() for k in ("unit_id", "people")}
    body = {"unit_id": values["unit_id"]}
    if values["people"]:
        body["people"] = int(values["people"]) if values["people"].isdigit() else values["people"]
    errors = attempt(client.post, f"/api/v1/activities/{q(activity_id)}/signups", body)[1]
    if errors:
        # Full without a waiting list, closed, or signed up already: the page shows which.
        shown = {k: v for k, v in errors.items() if k in ("unit_id", "people")} or {
            "_": _("Your sign-up was not taken.")
        }
        return _activity_page(activity_id, values, shown, 422)
    return redirect(url_for("mobile.activity", activity_id=activity_id), code=303)


@bp.post("/activities/<activity_id>/signups/<signup_id>/cancel")
def activity_cancel(activity_id, signup_id):
    errors = attempt(client.post, f"/api/v1/activities/{q(activity_id)}/signups/{q(signup_id)}/cancel", {})[1]
    if errors:
        return _activity_page(activity_id, errors={"_": _("The sign-up could not be cancelled.")}, status=422)
    return redirect(url_for("mobile.activity", activity_id=activity_id), code=303)


def _services_page(values=None, errors=None, status: int = 200):
    """The special and paid services on offer in my communities (特约服务, 有偿服务) and my household's orders."""
    offered = [i for i in _each_community("/api/v1/catalogue", page_size=100) if i.get("active")]
    for item in offered:
        item["units"] = _my_units_in(item["community_id"])
    orders = _each_community("/api/v1/service-orders", page_size=50)
    page = render_template("m_services.html", offered=offered, orders=orders, values=values or {}, errors=errors or {})
    return page, status


@bp.get("/services")
def services():
    return _services_page()


@bp.post("/services/orders")
def service_order():
    """Order a service for my household; the butler's desk agrees the time (and a quoted price) with us."""
    values = {k: request.form.get(k, "").strip() for k in ("item_id", "unit_id", "quantity", "note")}
    body = {"item_id": values["item_id"], "unit_id": values["unit_id"]}
    if values["quantity"]:
        body["quantity"] = int(values["quantity"]) if values["quantity"].isdigit() else values["quantity"]
    if values["note"]:
        body["note"] = values["note"]
    errors = attempt(client.post, "/api/v1/service-orders", body)[1]
    if errors:
        shown = {k: v for k, v in errors.items() if k in ("unit_id", "quantity", "note")} or {
            "_": _("Your order was not taken.")
        }
        return _services_page(values, {f"{values['item_id']}.{k}": v for k, v in shown.items()}, 422)
    return redirect(url_for("mobile.services", ordered=1), code=303)


@bp.post("/services/orders/<order_id>/rate")
def service_rate(order_id):
    """My household's rating (1–5) of a delivered service."""
    rating = request.form.get("rating", "")
    body = {"rating": int(rating) if rating.isdigit() else rating}
    errors = attempt(client.post, f"/api/v1/service-orders/{q(order_id)}/rate", body)[1]
    if errors:
        return _services_page(errors={f"rate-{order_id}": _("Choose 1 to 5.")}, status=422)
    return redirect(url_for("mobile.services"), code=303)


def _delete_mine(path: str) -> None:
    """DELETE one of my own things (`…/me`); a 404 means there was none: already as asked."""
    response = client.raw("DELETE", path)
    if response.status != 404:
        client.decode(response)


# ---------------------------------------------------------------- my birthday greeting (生日祝福), by opt-in

GREETINGS = "/api/v1/greetings"


def _birthday_page(values=None, errors=None, status: int = 200):
    """My own opt-in (the API shows the birthday `MM-DD` to me alone), the form to give or change it, opting out."""
    mine = next(iter(_each_community(GREETINGS, page_size=1)), None)
    page = render_template(
        "m_birthday.html",
        greeting=mine,
        units=_units(),
        months=range(1, 13),
        days=range(1, 32),
        done=request.args.get("done"),
        values=values or {},
        errors=errors or {},
    )
    return page, status


@bp.get("/birthday")
def birthday():
    return _birthday_page()


@bp.post("/birthday")
def birthday_opt_in():
    """Opt in (or change the date): the month and day only, kept for the greeting and nothing else."""
    values = {k: request.form.get(k, "").strip() for k in ("unit_id", "birth_month", "birth_day")}
    body = {k: int(v) if k != "unit_id" and v.isdigit() else v for k, v in values.items()}
    errors = attempt(client.post, GREETINGS, body)[1]
    if errors:
        shown = {k: v for k, v in errors.items() if k in values} or {"_": _("Your birthday was not saved.")}
        return _birthday_page(values, shown, 422)
    return redirect(url_for("mobile.birthday", done="in"), code=303)


@bp.post("/birthday/out")
def birthday_opt_out():
    """Opt out: the API deletes the birthday (none kept: nothing to do)."""
    _delete_mine(f"{GREETINGS}/me")
    return redirect(url_for("mobile.birthday", done="out"), code=303)


# ---------------------------------------------------------------- binding my WeChat (公众号)

BINDINGS = "/api/v1/notifications/wechat/bindings"
WECHAT_COOKIE = "gj_wechat"
# The OAuth round trip must come back within this long (WeChat's own code is valid five minutes).
WECHAT_MAX_AGE = 600


def _wechat() -> dict:
    return current_app.extensions.get("workbench.wechat") or {}


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.extensions["workbench.secret"], salt="workbench.wechat-binding")


def _wechat_page(errors=None, status: int = 200, **extra):
    binding = client.get_or_none(f"{BINDINGS}/me")
    page = render_template(
        "m_wechat.html", binding=binding, enabled=bool(_wechat().get("app_id")), errors=errors or {}, **extra
    )
    return page, status


@bp.get("/wechat")
def wechat():
    """My binding (the openid masked as the API shows it), a form for the butler's code, and unbinding."""
    return _wechat_page(done=request.args.get("done", ""))


@bp.post("/wechat/bind")
def wechat_bind():
    """The butler's code, kept in a signed cookie of this session for the round trip; then a link to WeChat's
    authorize page (a link, not a redirect: the CSP lets forms post only to this site)."""
    code = request.form.get("code", "").strip().upper()
    if not _wechat().get("app_id"):
        return _wechat_page(status=404)
    if not 4 <= len(code) <= 20:
        return _wechat_page({"code": _("Enter the binding code your butler gave you.")}, 422)
    state = secrets.token_urlsafe(16)
    # snsapi_base: no consent screen; WeChat sends the browser back with a one-time code and our state.
    query = urlencode(
        [
            ("appid", _wechat()["app_id"]),
            ("redirect_uri", url_for("mobile.wechat_callback", _external=True)),
            ("response_type", "code"),
            ("scope", "snsapi_base"),
            ("state", state),
        ]
    )
    page, status = _wechat_page(authorize_url=f"{_wechat()['authorize_url']}?{query}#wechat_redirect")
    answer = current_app.make_response((page, status))
    sealed = _serializer().dumps({"code": code, "state": state, "user": g.web_session.user_id})
    answer.set_cookie(
        WECHAT_COOKIE,
        sealed,
        max_age=WECHAT_MAX_AGE,
        httponly=True,
        samesite="Lax",  # sent on WeChat's top-level redirect back to us
        secure=security.is_secure(),
        path="/m/wechat",
    )
    return answer


@bp.get("/wechat/callback")
def wechat_callback():
    """WeChat's redirect back: its OAuth code and our state; the code is redeemed with the notifications API, which
    exchanges the OAuth code for my openid itself (this page never sees it)."""
    try:
        kept = _serializer().loads(request.cookies.get(WECHAT_COOKIE, ""), max_age=WECHAT_MAX_AGE)
    except BadSignature:
        kept = None
    state, oauth_code = request.args.get("state", ""), request.args.get("code", "")
    if (
        not isinstance(kept, dict)
        or kept.get("user") != g.web_session.user_id
        or not secrets.compare_digest(str(kept.get("state", "")), state)
    ):
        page, status = _wechat_page({"_": _("The binding took too long or was started elsewhere; start again.")}, 422)
    elif not oauth_code:
        page, status = _wechat_page({"_": _("WeChat did not confirm your account; start again.")}, 422)
    else:
        try:
            client.post(BINDINGS, {"code": kept["code"], "oauth_code": oauth_code})
            page, status = None, 303
        except client.Unavailable:
            raise
        except client.ApiError as exc:
            page, status = _wechat_page(_binding_errors(exc), 422)
    answer = current_app.make_response(
        redirect(url_for("mobile.wechat", done="bound"), code=303) if page is None else (page, status)
    )
    answer.delete_cookie(WECHAT_COOKIE, path="/m/wechat")
    return answer


def _binding_errors(exc: client.ApiError) -> dict:
    """The API's refusal in the resident's words (its texts are for integrators)."""
    fields = exc.field_errors
    if exc.status == 409:
        return {"code": _("This binding code was used already; ask your butler for a new one.")}
    if "code" in fields:
        return {"code": _("This binding code is unknown or has expired; ask your butler for a new one.")}
    if "oauth_code" in fields:
        return {"_": _("WeChat did not confirm your account; start again.")}
    return {"_": exc.message}


@bp.post("/wechat/unbind")
def wechat_unbind():
    """Take my WeChat back: messages come by SMS again."""
    _delete_mine(f"{BINDINGS}/me")
    return redirect(url_for("mobile.wechat", done="unbound"), code=303)
