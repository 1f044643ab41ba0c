"""收费 — the cashier's screens: a unit's account (bills, lines, payments, ledger), taking a payment once however
often the button is pressed, the printable receipt and its PDF, and a reversal with a reason and a confirmation."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from .. import client
from .common import items
from .forms import attempt, form_values, q
from .forms import communities as forms_communities

bp = Blueprint("finance", __name__, url_prefix="/finance")
METHODS = ("cash", "wechat", "alipay", "bank_transfer", "card")
REVERSAL_REASONS = ("entry_error", "refund", "bounced", "other")
PAYMENT_FIELDS = ("amount", "method", "reference", "note")


@bp.get("")
def index():
    """Recent payments of my communities (the API scopes the cash book); a unit is found with the header's search."""
    payments = client.get_or_none("/api/v1/payments", {"page_size": 30})
    return render_template("finance.html", payments=items(payments), can_read=payments is not None)


def _account(unit_id: str) -> dict:
    base = f"/api/v1/billing/units/{q(unit_id)}"
    unit = client.get(base)
    return {
        "unit": unit,
        "account": client.get(f"{base}/account"),
        "bills": items(client.get("/api/v1/billing/bills", {"unit_id": unit_id, "page_size": 100})),
        "payments": items(client.get_or_none("/api/v1/payments", {"unit_id": unit_id, "page_size": 100})),
        "ledger": items(client.get_or_none(f"{base}/ledger", {"page_size": 100})),
    }


def _account_page(unit_id: str, values: dict, errors: dict, status: int = 200):
    # A new key for every fresh form: the key travels with the form, so its double submit is one payment.
    values.setdefault("idempotency_key", str(uuid.uuid4()))
    page = render_template("finance_account.html", methods=METHODS, values=values, errors=errors, **_account(unit_id))
    return page, status


@bp.get("/units/<unit_id>")
def account(unit_id):
    return _account_page(unit_id, {"method": "cash"}, {})


@bp.get("/bills/<bill_id>/lines")
def bill_lines(bill_id):
    """htmx: a bill's lines (fee items, quantities, rates, prorated days) and any accrued late fee."""
    return render_template("finance_bill_lines.html", bill=client.get(f"/api/v1/billing/bills/{q(bill_id)}"))


@bp.post("/units/<unit_id>/payments")
def take_payment(unit_id):
    values = form_values(*PAYMENT_FIELDS, "idempotency_key")
    body = {k: v for k, v in values.items() if k in PAYMENT_FIELDS}
    body["unit_id"] = unit_id
    if request.form.get("prepaid"):
        body["prepaid"] = True
        values["prepaid"] = True
    bill_ids = [b for b in request.form.getlist("bill_ids") if b]
    if bill_ids:
        body["bill_ids"] = bill_ids
    headers = {"Idempotency-Key": values["idempotency_key"]} if values.get("idempotency_key") else None
    payment, errors = attempt(client.post, "/api/v1/payments", body, headers=headers)
    if errors:
        values["bill_ids"] = bill_ids
        return _account_page(unit_id, values, errors, 422)
    return redirect(url_for("finance.receipt", payment_id=payment["id"]), code=303)


@bp.get("/payments/<payment_id>")
def receipt(payment_id):
    """The printable receipt (print button and print stylesheet of the workbench), with its PDF and the reversal."""
    found = client.get(f"/api/v1/payments/{q(payment_id)}/receipt")
    return render_template("finance_receipt.html", receipt=found, reasons=REVERSAL_REASONS, errors={}, values={})


@bp.get("/payments/<payment_id>/receipt.pdf")
def receipt_pdf(payment_id):
    """The API's PDF with the signed-in person's token (the browser never holds a token)."""
    answer = client.raw("GET", f"/api/v1/payments/{q(payment_id)}/receipt.pdf")
    if answer.status != 200:
        client.decode(answer)  # raises the API's refusal as the error page
    return Response(
        answer.body,
        mimetype="application/pdf",
        headers={"Content-Disposition": answer.headers.get("Content-Disposition", "inline")},
    )


@bp.post("/payments/<payment_id>/reversal")
def reverse(payment_id):
    """First post: the confirmation page (nothing written). Second post, with `confirm`: the reversal."""
    values = form_values("reason_code", "note")
    found = client.get(f"/api/v1/payments/{q(payment_id)}/receipt")
    errors = {} if values.get("reason_code") in REVERSAL_REASONS else {"reason_code": _("Choose the reason.")}
    if errors or not request.form.get("confirm"):
        template = "finance_receipt.html" if errors else "finance_reversal_confirm.html"
        page = render_template(template, receipt=found, reasons=REVERSAL_REASONS, errors=errors, values=values)
        return page, 422 if errors else 200
    _reversed, errors = attempt(client.post, f"/api/v1/payments/{q(payment_id)}/reversal", values)
    if errors:
        page = render_template(
            "finance_receipt.html", receipt=found, reasons=REVERSAL_REASONS, errors=errors, values=values
        )
        return page, 422
    return redirect(url_for("finance.receipt", payment_id=payment_id), code=303)


# --- the billing run -----------------------------------------------------------------------------------------------

SKIP_REASONS = {
    "already_billed": lazy_gettext("Billed for this period already"),
    "no_fee_applies": lazy_gettext("No fee item applies (unit type, exempt floor, no reading, nothing to charge)"),
    "not_in_billing": lazy_gettext("Listed by the property register but not known to billing yet"),
}


def _skipped(run: dict) -> list[tuple[str, int]]:
    return [
        (str(SKIP_REASONS.get(reason, reason)), count) for reason, count in (run.get("units_skipped") or {}).items()
    ]


def _run_form(values: dict, errors: dict, status: int = 200):
    communities = forms_communities()
    community_id = values.get("community_id") or (communities[0]["id"] if communities else "")
    runs = items(client.get_or_none("/api/v1/billing-runs", {"community_id": community_id, "page_size": 12}))
    page = render_template(
        "finance_runs.html",
        communities=communities,
        values={"community_id": community_id, **values},
        errors=errors,
        runs=runs,
        skipped=_skipped,
    )
    return page, status


@bp.get("/runs")
def runs():
    return _run_form({n: request.args[n].strip() for n in ("community_id", "period") if request.args.get(n)}, {})


@bp.post("/runs/preview")
def run_preview():
    """htmx: the API's dry run — what the run will bill, per fee item, and what it will skip and why."""
    values = form_values("community_id", "period")
    preview, errors = attempt(client.post, "/api/v1/billing-runs", {**values, "dry_run": True})
    if errors:
        # 200: htmx swaps only successful answers into the page; the fragment is the refusal.
        return render_template("finance_run_errors.html", errors=errors)
    return render_template(
        "finance_run_preview.html", run=preview, values=values, run_id=str(uuid.uuid4()), skipped=_skipped
    )


@bp.post("/runs/start")
def run_start():
    """htmx: the run itself (the request lasts as long as the run; its progress is polled beside it)."""
    values = form_values("community_id", "period", "run_id")
    done, errors = attempt(client.post, "/api/v1/billing-runs", values)
    if errors:
        # 200: htmx swaps only successful answers into the page; the fragment is the refusal.
        return render_template("finance_run_errors.html", errors=errors)
    return render_template("finance_run_result.html", run=done, skipped=_skipped)


@bp.get("/runs/<run_id>/progress")
def run_progress(run_id):
    """htmx: units done of units to bill; the fragment asks again until the run is done or failed."""
    found = client.get_or_none(f"/api/v1/billing-runs/{q(run_id)}")
    return render_template("finance_run_progress.html", run=found, run_id=run_id)
