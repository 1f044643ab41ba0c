"""HTTP API of the billing service: load → call domain → dump; no rules here."""

from __future__ import annotations

import json
from datetime import date, datetime
from urllib.parse import quote

from flask import Response, current_app, jsonify, request

from guanjia import db as dbmod
from guanjia import http, web
from guanjia.errors import Invalid, Unauthorized, UpstreamUnavailable
from guanjia.names import staff_names
from guanjia.web import Blueprint

from . import examples, receipts
from .domain import bills, charges, common, display, fees, overdue, payments, reports, units
from .models import BillingRun, BillingUnit, idempotency_keys
from .schemas import (
    AccountOut,
    ArrearsArgs,
    BillDetailOut,
    BillingUnitListArgs,
    BillingUnitOut,
    BillingUnitPage,
    BillListArgs,
    BillOut,
    BillPage,
    ChargeIn,
    CollectionListArgs,
    CollectionListOut,
    CreditIn,
    DepositStateArgs,
    DepositStateOut,
    FeeItemIn,
    FeeItemListArgs,
    FeeItemOut,
    FeeItemPage,
    FeeItemPatch,
    FeeRateIn,
    FeeRateOut,
    LedgerPage,
    MeterReadingIn,
    MeterReadingOut,
    MonthlyArgs,
    NoteIn,
    NoteOut,
    PaymentIn,
    PaymentListArgs,
    PaymentOut,
    PaymentPage,
    PolicyIn,
    PolicyOut,
    PrepaidRefundIn,
    PrepaidRefundOut,
    ProviderPaymentIn,
    RateArgs,
    ReceiptOut,
    ReversalIn,
    RunIn,
    RunListArgs,
    RunOut,
    RunPage,
    ScanIn,
    WeeklyArgs,
)

CALLBACK_PATH = "/api/v1/payments/callback"
_IDEMPOTENCY_DOC = [{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}, "required": False}]

blp = Blueprint(
    "billing_units",
    __name__,
    url_prefix="/api/v1/billing/units",
    description="Units as billing knows them: the area fees are charged on, and each unit's account",
)
fees_blp = Blueprint("billing_fees", __name__, url_prefix="/api/v1/billing", description="Fee rules and meter readings")
bills_blp = Blueprint("billing_bills", __name__, url_prefix="/api/v1/billing", description="Bills")
# The issue names these resources at the top level: /api/v1/billing-runs and /api/v1/payments.
runs_blp = Blueprint("billing_runs", __name__, url_prefix="/api/v1/billing-runs", description="Billing runs")
payments_blp = Blueprint(
    "billing_payments", __name__, url_prefix="/api/v1", description="Payments, receipts and reversals"
)
reports_blp = Blueprint(
    "billing_reports", __name__, url_prefix="/api/v1/billing", description="Arrears, collection list, KPIs, reports"
)
internal_blp = Blueprint(
    "billing_internal",
    __name__,
    url_prefix="/api/v1/internal",
    description="For other services only (role `service`): whether a renovation's deposit is paid",
)
BLUEPRINTS = (blp, fees_blp, runs_blp, bills_blp, payments_blp, reports_blp, internal_blp)


def _now() -> datetime:
    return web.now()


def _today() -> date:
    return common.today_in(web.settings(), _now())


def _fetch_unit_from_residents(unit_id: str):
    return current_app.extensions["billing.residents"].get_found(f"/api/v1/units/{quote(unit_id, safe='')}")


def _fetch_resident(resident_id: str):
    return current_app.extensions["billing.residents"].get_found(f"/api/v1/residents/{quote(resident_id, safe='')}")


def _idempotent(schema, status: int, action):
    """Run `action(session)` once per Idempotency-Key: a replay answers with the first response; another body 422."""
    return web.idempotent(
        idempotency_keys, request.get_json(silent=True), status, lambda session: schema().dump(action(session))
    )


# --- units ---------------------------------------------------------------------------------------------------------


@blp.route("", methods=["GET"])
@blp.arguments(BillingUnitListArgs, location="query")
@blp.response(200, BillingUnitPage)
def list_units(args):
    """Units the caller may see: finance and managers their communities, butlers their zones, residents their own."""
    query = units.list_units(web.principal(), args)
    with web.database().transaction() as session:
        return display.units(session, web.paginate(session, query, args["page"], args["page_size"]))


@blp.route("/<unit_id>", methods=["GET"])
@blp.response(200, BillingUnitOut)
def get_unit(unit_id):
    """One unit; a unit not projected yet is checked with residents before the answer is 404."""
    with web.database().transaction() as session:
        return display.units(session, units.get_unit(session, web.principal(), unit_id, _fetch_unit_from_residents))


@blp.route("/<unit_id>/account", methods=["GET"])
@blp.response(200, AccountOut)
def get_account(unit_id):
    """The unit's balance: outstanding bills less prepaid money (the sum of its ledger entries)."""
    with web.database().transaction() as session:
        units.get_unit(session, web.principal(), unit_id, None)
        balance = bills.unit_balance(session, unit_id)
    return {
        "unit_id": unit_id,
        "balance": balance["ledger_fen"],
        "outstanding": balance["outstanding_fen"],
        "prepaid": balance["prepaid_fen"],
    }


@blp.route("/<unit_id>/ledger", methods=["GET"])
@blp.arguments(web.PageArgs, location="query")
@blp.response(200, LedgerPage)
def get_ledger(args, unit_id):
    """The unit's ledger entries, newest first: charges, payments, credits, reversals, refunds."""
    with web.database().transaction() as session:
        units.get_unit(session, web.principal(), unit_id, None)
        return web.paginate(session, units.ledger_query(web.principal(), unit_id), args["page"], args["page_size"])


@blp.route("/<unit_id>/prepaid-refunds", methods=["POST"])
@blp.arguments(PrepaidRefundIn)
@blp.response(201, PrepaidRefundOut)
def refund_prepaid(data, unit_id):
    """Pay prepaid money back (finance): refund entries on the payments it came from, oldest first."""
    with web.database().transaction() as session:
        return payments.refund_prepaid(session, web.principal(), unit_id, data, _now())


# --- policy, fee items, readings -----------------------------------------------------------------------------------


@fees_blp.route("/policies/<community_id>", methods=["GET"])
@fees_blp.response(200, PolicyOut)
def get_policy(community_id):
    """The community's billing policy (defaults until changed): area basis, due days, reminders, late fee, target."""
    with web.database().transaction() as session:
        return fees.get_policy(session, web.principal(), community_id, _now())


@fees_blp.route("/policies/<community_id>", methods=["PATCH"])
@fees_blp.arguments(PolicyIn)
@fees_blp.response(200, PolicyOut)
def update_policy(data, community_id):
    """Change the policy (finance, admin). Issued bills keep their amounts and due dates."""
    with web.database().transaction() as session:
        return fees.update_policy(session, web.principal(), community_id, data, _now())


class _Obj(dict):
    """A dict the response schemas read like an object (a model's columns plus computed fields)."""

    __getattr__ = dict.get


def _item_out(session, item):
    columns = {c.name: getattr(item, c.name) for c in item.__table__.columns}
    return _Obj(columns, rates=fees.rates_of(session, item.id))


@fees_blp.route("/fee-items", methods=["POST"])
@fees_blp.arguments(FeeItemIn)
@fees_blp.response(201, FeeItemOut)
def create_fee_item(data):
    """A fee item with its first rate (yuan per m²/unit/space per month, or per metered unit)."""
    with web.database().transaction() as session:
        return _item_out(session, fees.create_fee_item(session, web.principal(), data, _now()))


@fees_blp.route("/fee-items", methods=["GET"])
@fees_blp.arguments(FeeItemListArgs, location="query")
@fees_blp.response(200, FeeItemPage)
def list_fee_items(args):
    with web.database().transaction() as session:
        page = web.paginate(
            session, fees.list_fee_items(web.principal(), args["community_id"]), args["page"], args["page_size"]
        )
        page["items"] = [_item_out(session, item) for item in page["items"]]
        return page


@fees_blp.route("/fee-items/<fee_item_id>", methods=["GET"])
@fees_blp.response(200, FeeItemOut)
def get_fee_item(fee_item_id):
    with web.database().transaction() as session:
        return _item_out(session, fees.get_fee_item(session, web.principal(), fee_item_id))


@fees_blp.route("/fee-items/<fee_item_id>", methods=["PATCH"])
@fees_blp.arguments(FeeItemPatch)
@fees_blp.response(200, FeeItemOut)
def update_fee_item(data, fee_item_id):
    """Rename an item, change whom it applies to, or stop charging it (`active: false`) from the next run on."""
    with web.database().transaction() as session:
        return _item_out(session, fees.update_fee_item(session, web.principal(), fee_item_id, data))


@fees_blp.route("/fee-items/<fee_item_id>/rates", methods=["POST"])
@fees_blp.arguments(FeeRateIn)
@fees_blp.response(201, FeeRateOut)
def add_rate(data, fee_item_id):
    """A new rate from a date on; bills issued before keep their amounts."""
    with web.database().transaction() as session:
        return fees.add_rate(session, web.principal(), fee_item_id, data, _now())


@fees_blp.route("/meter-readings", methods=["POST"])
@fees_blp.arguments(MeterReadingIn)
@fees_blp.response(201, MeterReadingOut)
def record_reading(data):
    """A utility meter reading; the run of its period bills (current − previous) × the item's rate."""
    with web.database().transaction() as session:
        return fees.record_reading(session, web.principal(), data, _now())


# --- runs and bills ------------------------------------------------------------------------------------------------


class _Preview(Exception):
    """Leaves a dry run's transaction: everything it wrote is rolled back; the answer is what it would bill."""

    def __init__(self, body: dict):
        super().__init__("dry run")
        self.body = body


def _run_out(session, run, **extra):
    columns = {c.name: getattr(run, c.name) for c in run.__table__.columns}
    return _Obj(columns, by_fee_item=bills.by_fee_item(session, run.id), **extra)


@runs_blp.route("", methods=["POST"])
@runs_blp.arguments(RunIn)
@runs_blp.response(201, RunOut)
@runs_blp.alt_response(200, schema=RunOut, description="`dry_run: true`: what the run would bill; nothing written")
def run_billing(data):
    """Bill a community for a period. Re-running the same period creates nothing for units already billed.

    The community's units are first checked with residents (read-your-writes: units created a moment ago whose
    events have not reached billing yet are fetched now); the run reports `units_total`, the units it fetched and
    those it left without a bill, by reason. Residents unreachable → 503 and nothing billed. The units are billed
    in chunks, each its own transaction, so `GET /api/v1/billing-runs/{run_id}` shows `units_done` of
    `units_to_bill` meanwhile (choose `run_id` to follow a run you start); a failed run is re-run safely.
    `dry_run: true` computes the whole run and writes nothing."""
    cid, principal, settings = data["community_id"], web.principal(), web.settings()
    bills.check_run(principal, cid, data["period"])
    run_id = str(data["run_id"]) if data.get("run_id") else None
    if run_id:
        with web.database().transaction() as session:
            made = session.get(BillingRun, run_id)
            if made is not None:
                if made.community_id != cid or made.period != data["period"] or not principal.sees_community(cid):
                    raise Invalid("run_id", "is the id of another run")
                return _run_out(session, made)
    path = f"/api/v1/internal/communities/{quote(cid, safe='')}/units"
    residents = current_app.extensions["billing.residents"]
    listing = residents.get_found(path)
    listed = None if listing is None else listing["unit_ids"]  # a community residents does not know: no check

    def fetch_units() -> list[dict]:
        found = residents.get_found(f"{path}?detail=true", timeout=30.0)
        return [] if found is None else found["units"]

    if data["dry_run"]:
        try:
            with web.database().transaction() as session:
                run = bills.run_billing(session, settings, principal, cid, data["period"], _now(), listed, fetch_units)
                raise _Preview(RunOut().dump(_run_out(session, run, dry_run=True)))
        except _Preview as preview:
            return jsonify(preview.body)

    def start_once():
        with web.database().transaction() as session:
            run, pending = bills.start_run(session, principal, cid, data["period"], _now(), listed, fetch_units, run_id)
            return run.id, pending

    # Right after a large import the consumer's batches upsert the same new units the run fetches: a deadlock
    # between them rolls the start back, and starting again is safe (nothing of it was kept).
    run_id, pending = dbmod.retried_on_conflict(start_once)
    try:
        for start in range(0, len(pending), bills.CHUNK_UNITS):
            with web.database().transaction() as session:
                bills.bill_units(session, settings, run_id, pending[start : start + bills.CHUNK_UNITS], _now())
    except Exception:
        with web.database().transaction() as session:
            bills.fail_run(session, run_id, _now())
        raise
    with web.database().transaction() as session:
        return _run_out(session, bills.finish_run(session, run_id, _now()))


@runs_blp.route("/<run_id>", methods=["GET"])
@runs_blp.response(200, RunOut)
def get_run(run_id):
    """One run with its progress (`units_done` of `units_to_bill`) and, when done, what it billed per fee item."""
    with web.database().transaction() as session:
        return _run_out(session, bills.get_run(session, web.principal(), run_id))


@runs_blp.route("", methods=["GET"])
@runs_blp.arguments(RunListArgs, location="query")
@runs_blp.response(200, RunPage)
def list_runs(args):
    with web.database().transaction() as session:
        return web.paginate(
            session, bills.list_runs(web.principal(), args["community_id"]), args["page"], args["page_size"]
        )


@bills_blp.route("/bills", methods=["GET"])
@bills_blp.arguments(BillListArgs, location="query")
@bills_blp.response(200, BillPage, example=examples.BILL_PAGE)
def list_bills(args):
    """Bills the caller may see, latest due first; residents see their own units' bills."""
    with web.database().transaction() as session:
        page = web.paginate(session, bills.list_bills(web.principal(), args), args["page"], args["page_size"])
        return display.units(session, page)


@bills_blp.route("/bills", methods=["POST"])
@bills_blp.arguments(ChargeIn, example=examples.CHARGE_IN)
@bills_blp.response(201, BillOut, example=examples.BILL_OUT)
@bills_blp.doc(parameters=_IDEMPOTENCY_DOC)
def create_charge(data):
    """A one-off charge on a unit (finance). Idempotency-Key supported."""
    return _idempotent(
        BillOut,
        201,
        lambda session: bills.create_one_off(
            session,
            web.settings(),
            web.principal(),
            data,
            _today(),
            _fetch_unit_from_residents,
            _fetch_resident,
            now=_now(),
        ),
    )


def _bill_detail(session, bill):
    policy = common.policy_for(session, bill.community_id, _now())
    return {
        **{c.name: getattr(bill, c.name) for c in bill.__table__.columns},
        "outstanding_fen": bill.outstanding_fen,
        "lines": bills.lines_of(session, bill.id),
        "late_fee": bills.late_fee_fen(policy, bill, _today()),
    }


@bills_blp.route("/bills/<bill_id>", methods=["GET"])
@bills_blp.response(200, BillDetailOut)
def get_bill(bill_id):
    """A bill with its lines and any accrued late fee."""
    with web.database().transaction() as session:
        return _Obj(display.units(session, _bill_detail(session, bills.get_bill(session, web.principal(), bill_id))))


@bills_blp.route("/bills/<bill_id>/credits", methods=["POST"])
@bills_blp.arguments(CreditIn)
@bills_blp.response(201, BillOut)
def credit_bill(data, bill_id):
    """A correction with a reason: a credit entry lowers what the bill asks for; nothing is deleted."""
    with web.database().transaction() as session:
        return bills.credit_bill(session, web.principal(), bill_id, data["amount"], data["reason"], _now())


# --- payments ------------------------------------------------------------------------------------------------------


@payments_blp.route("/payments", methods=["POST"])
@payments_blp.arguments(PaymentIn, example=examples.PAYMENT_IN)
@payments_blp.response(201, PaymentOut, example=examples.PAYMENT_OUT)
@payments_blp.doc(parameters=_IDEMPOTENCY_DOC)
def record_payment(data):
    """Record a payment (finance): to the named bills, else oldest bill first; more than is owed only with
    `prepaid: true`. Idempotency-Key: a retry returns the first response; the same key with another body is 422.
    The payment keeps the cashier's name as it is now: its receipt shows that name after any rename."""
    principal = web.principal()
    cashier_name = staff_names({principal.subject}).get(principal.subject)  # before the transaction: a call out
    return _idempotent(
        PaymentOut,
        201,
        lambda session: display.payments(
            session,
            payments.record_payment(
                session,
                web.settings(),
                principal,
                data,
                _now(),
                _fetch_unit_from_residents,
                _fetch_resident,
                cashier_name=cashier_name,
            ),
        ),
    )


@payments_blp.route("/payments", methods=["GET"])
@payments_blp.arguments(PaymentListArgs, location="query")
@payments_blp.response(200, PaymentPage, example=examples.PAYMENT_PAGE)
def list_payments(args):
    with web.database().transaction() as session:
        page = web.paginate(session, payments.list_payments(web.principal(), args), args["page"], args["page_size"])
        return display.payments(session, page)


@payments_blp.route("/payments/<payment_id>", methods=["GET"])
@payments_blp.response(200, PaymentOut)
def get_payment(payment_id):
    with web.database().transaction() as session:
        return display.payments(session, payments.get_payment(session, web.principal(), payment_id))


def _receipt(payment_id) -> dict:
    """The receipt with its display fields: the company, the community's name (from residents, once), the cashier."""
    with web.database().transaction() as session:
        found = payments.receipt(
            session, web.principal(), payment_id, lambda unit_id: session.get(BillingUnit, unit_id)
        )
        display.payments(session, [found])  # in a list: the receipt's own `items` are not rows to annotate
    found["company_name"] = current_app.extensions["billing.settings"].company_name
    found["community_name"] = _community_name(found["community_id"])
    return found


def _community_name(community_id: str) -> str | None:
    """A display field never fails the receipt: residents unreachable, the receipt shows the community's id."""
    try:
        community = current_app.extensions["billing.residents"].get_found(
            f"/api/v1/communities/{quote(community_id, safe='')}"
        )
    except UpstreamUnavailable:
        return None
    return (community or {}).get("name")


@payments_blp.route("/payments/<payment_id>/receipt", methods=["GET"])
@payments_blp.response(200, ReceiptOut)
def get_receipt(payment_id):
    """The receipt as JSON (the same content as the printable receipt and its PDF)."""
    return _receipt(payment_id)


@payments_blp.route("/payments/<payment_id>/receipt.html", methods=["GET"])
@payments_blp.response(200, content_type="text/html")
def get_receipt_html(payment_id):
    """A printable HTML receipt. Its own Content-Security-Policy admits exactly its style and its print button."""
    body = receipts.to_html(ReceiptOut().dump(_receipt(payment_id)), web.settings().timezone)
    response = Response(body, mimetype="text/html")
    response.headers["Content-Security-Policy"] = receipts.content_security_policy()
    return response


@payments_blp.route("/payments/<payment_id>/receipt.pdf", methods=["GET"])
@payments_blp.response(200, content_type=receipts.PDF_TYPE)
def get_receipt_pdf(payment_id):
    """The receipt as a PDF (A5): company, community, unit, bills with fee items and periods, the amount in figures
    and in capitals (大写), method, local time, cashier, receipt number; a reversed payment is marked 已冲正."""
    receipt = ReceiptOut().dump(_receipt(payment_id))
    return Response(
        receipts.to_pdf(receipt, web.settings().timezone),
        mimetype=receipts.PDF_TYPE,
        headers={"Content-Disposition": f'inline; filename="receipt-{receipt["receipt_number"]}.pdf"'},
    )


@payments_blp.route("/payments/<payment_id>/reversal", methods=["POST"])
@payments_blp.doc(**web.audit_doc("payment.reversed", "payment"))
@payments_blp.arguments(ReversalIn)
@payments_blp.response(201, PaymentOut)
def reverse_payment(data, payment_id):
    """Reverse a payment with a reason (entry error, refund, bounced): its bills are owed again; nothing is deleted."""
    with web.database().transaction() as session:
        return payments.reverse_payment(session, web.settings(), web.principal(), payment_id, data, _now())


@payments_blp.route("/payments/callback", methods=["POST"])
@payments_blp.response(200, PaymentOut)
@payments_blp.doc(
    security=[],
    parameters=[{"in": "header", "name": "X-Guanjia-Signature", "required": True, "schema": {"type": "string"}}],
)
def provider_callback():
    """A payment provider posts a confirmed online payment. No bearer token: the body is signed (by default
    HMAC-SHA256 of the raw body with the configured secret, hex, in X-Guanjia-Signature). Posting the same
    provider reference again answers with the payment recorded the first time."""
    verifier = current_app.extensions["billing.callback_verifier"]
    raw = request.get_data(cache=True)
    if verifier is None or not verifier(request.headers, raw):
        raise Unauthorized("the signature does not verify")
    try:
        payload = json.loads(raw)
    except ValueError:
        raise Invalid("body", "not JSON") from None
    data = ProviderPaymentIn().load(payload if isinstance(payload, dict) else {})
    with web.database().transaction() as session:
        payment, _ = payments.provider_payment(session, web.settings(), data, _now())
        return payment


# --- arrears, reminders, reports -----------------------------------------------------------------------------------


@reports_blp.route("/arrears", methods=["GET"])
@reports_blp.arguments(ArrearsArgs, location="query")
@reports_blp.response(200)
def get_arrears(args):
    """Overdue money by unit, building, zone or butler, with ageing buckets (0–30, 31–90, 91–180, 181–365, >365
    days past due); each group with its `name` (zone name, butler's display name)."""
    staff = _staff_names(args["community_id"], args["group_by"])
    with web.database().transaction() as session:
        body = reports.arrears(
            session,
            web.settings(),
            web.principal(),
            args["community_id"],
            args["group_by"],
            args.get("as_of") or _today(),
            staff,
        )
    return jsonify(web.jsonable(body))


@reports_blp.route("/collection-list", methods=["GET"])
@reports_blp.arguments(CollectionListArgs, location="query")
@reports_blp.response(200, CollectionListOut)
def get_collection_list(args):
    """The collection list (催缴清单): units in arrears, most owed first, with their latest contact notes."""
    with web.database().transaction() as session:
        return reports.collection_list(
            session,
            web.settings(),
            web.principal(),
            args["community_id"],
            args.get("zone_id"),
            args.get("as_of") or _today(),
        )


@reports_blp.route("/collection-notes", methods=["POST"])
@reports_blp.arguments(NoteIn)
@reports_blp.response(201, NoteOut)
def add_note(data):
    """A contact note on a unit in arrears (who was reached, what was promised)."""
    with web.database().transaction() as session:
        return reports.add_note(session, web.principal(), data, _now())


@reports_blp.route("/reports/collection-rate", methods=["GET"])
@reports_blp.arguments(RateArgs, location="query")
@reports_blp.response(200)
def get_collection_rate(args):
    """收缴率 and 清欠率 for a period by community, zone or butler, with the target, gap and projected rate; each
    group with its `name` (zone name, butler's display name). Several groupings comma-separated
    (`group_by=zone,butler`) answer each one's report under `by` from one reading of the bills."""
    groupings = args["group_by"].split(",")
    staff = _staff_names(args["community_id"], *groupings)
    with web.database().transaction() as session:
        found = reports.collection_rates(
            session,
            web.settings(),
            web.principal(),
            args["community_id"],
            args["period"],
            groupings,
            args.get("as_of") or _today(),
            staff,
            now=_now(),
        )
    if len(groupings) == 1:
        body = found[groupings[0]]
    else:
        first = found[groupings[0]]
        body = {**{k: first[k] for k in ("community_id", "period", "as_of")}, "group_by": args["group_by"], "by": found}
    return jsonify(web.jsonable(body))


def _staff_names(community_id: str, *groupings: str) -> dict | None:
    """Butlers' display names from the gateway, asked once (outside the database transaction) when grouping by
    butler for a caller who may read the community."""
    if "butler" not in groupings or not web.principal().sees_community(community_id):
        return None
    return http.staff_names(current_app.extensions["billing.gateway"], community_id)


def _report(body: dict, name: str, fmt: str):
    if fmt == "xlsx":
        return Response(
            reports.to_xlsx(name, body, web.settings().timezone),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return jsonify(web.jsonable(body))


@reports_blp.route("/reports/monthly", methods=["GET"])
@reports_blp.arguments(MonthlyArgs, location="query")
@reports_blp.response(200)
def get_monthly(args):
    """Monthly fee analysis (月度物业费分析), JSON or XLSX (`format=xlsx`): the month's receivable and collection
    (`summary`, `by_zone` with each zone's `name`), by fee item, payments by method, arrears with ageing at the
    month's end in all (`arrears`) and by zone (`arrears_by_zone`)."""
    with web.database().transaction() as session:
        body = reports.monthly_report(
            session, web.settings(), web.principal(), args["community_id"], args["month"], now=_now()
        )
    return _report(body, f"monthly-{args['month']}", args["format"])


@reports_blp.route("/reports/weekly", methods=["GET"])
@reports_blp.arguments(WeeklyArgs, location="query")
@reports_blp.response(200)
def get_weekly(args):
    """Weekly fee report (Monday to Sunday of `week_of`), JSON or XLSX (`format=xlsx`): payments by day and method,
    `collected` in the week, the month's collection rate at the week's start and end, `by_zone` (the month's
    receivable, collected and rate at the week's end with `collected_in_week`), arrears at the week's end
    (`arrears_total`, `arrears_by_zone`)."""
    with web.database().transaction() as session:
        body = reports.weekly_report(
            session, web.settings(), web.principal(), args["community_id"], args.get("week_of") or _today(), now=_now()
        )
    return _report(body, f"weekly-{body['week_start'].isoformat()}", args["format"])


@reports_blp.route("/overdue-scans", methods=["POST"])
@reports_blp.arguments(ScanIn)
@reports_blp.response(200)
def run_overdue_scan(data):
    """Run the overdue scan now (admin). The worker runs it on its own every hour; both are safe together."""
    common.require(web.principal(), "admin")
    with web.database().transaction() as session:
        sent = overdue.scan(session, web.settings(), data.get("as_of") or _today(), _now())
    return jsonify({"reminders": sent})


@internal_blp.route("/renovations/<renovation_id>/deposit", methods=["GET"])
@internal_blp.arguments(DepositStateArgs, location="query")
@internal_blp.response(200, DepositStateOut)
def renovation_deposit(args, renovation_id):
    """Residents, before it issues a renovation permit: is the deposit paid (`paid`, `outstanding`, `not_required`
    when the community's policy sets no deposit, `not_billed` while renovation.approved has not been consumed)?"""
    with web.database().transaction() as session:
        return charges.deposit_state(session, args["community_id"], renovation_id, _now())
