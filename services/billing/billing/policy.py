"""Need-to-know table of the billing service: who may read and change which resource, and why.

Enforced for every request by guanjia.access; which units and bills (community, zone, the resident's own stay)
is the domain's. docs/security.md embeds this table; the access matrix tests are generated from it.
"""

from __future__ import annotations

from guanjia.access import Policy, Resource

R, B, SB, CM, E, F, IG = "resident", "butler", "senior_butler", "cs_manager", "engineer", "finance", "integrator"
U, BL = "/api/v1/billing/units", "/api/v1/billing"
NOTES = ("note", "notes")

RESOURCES = [
    Resource(
        "billing units, accounts, ledger",
        (U, f"{U}/<unit_id>", f"{U}/<unit_id>/account", f"{U}/<unit_id>/ledger"),
        read=(R, B, SB, CM, F, IG),
        write=(),
        why="a household sees its own account from its move-in; staff follow the units they collect from; an "
        "integrator's billing key reads the facts (amounts, balances) of its communities",
        notes=NOTES,
    ),
    Resource(
        "prepaid refunds",
        (f"{U}/<unit_id>/prepaid-refunds",),
        read=(),
        write=(F,),
        why="money goes back through the cashier",
    ),
    Resource(
        "fee rules and meter readings",
        (
            f"{BL}/policies/<community_id>",
            f"{BL}/fee-items",
            f"{BL}/fee-items/<fee_item_id>",
            f"{BL}/fee-items/<fee_item_id>/rates",
            f"{BL}/meter-readings",
        ),
        read=(B, SB, CM, F),
        write=(F,),
        why="staff explain the fees; finance sets them",
    ),
    Resource(
        "billing runs",
        ("/api/v1/billing-runs", "/api/v1/billing-runs/<run_id>"),
        read=(B, SB, CM, F),
        write=(F,),
        why="finance bills a period",
    ),
    Resource(
        "bills",
        (f"{BL}/bills", f"{BL}/bills/<bill_id>", f"{BL}/bills/<bill_id>/credits"),
        read=(R, B, SB, CM, F, IG),
        write=(F,),
        why="a household pays its own bills (from its move-in); butlers collect in their zones; finance issues "
        "and corrects them; an integrator's billing key reads them (facts, never notes)",
    ),
    Resource(
        "payments and receipts",
        (
            "/api/v1/payments",
            "/api/v1/payments/<payment_id>",
            "/api/v1/payments/<payment_id>/receipt",
            "/api/v1/payments/<payment_id>/receipt.html",
            "/api/v1/payments/<payment_id>/receipt.pdf",
            "/api/v1/payments/<payment_id>/reversal",
        ),
        read=(R, SB, CM, F, IG),
        write=(F,),
        why="the cash book is finance's and the managers'; a household reads its own receipts; an integrator's "
        "billing key reads the cash book's facts (amounts, methods, times)",
        notes=NOTES,
    ),
    Resource(
        "arrears and collection",
        (f"{BL}/arrears", f"{BL}/collection-list", f"{BL}/collection-notes"),
        read=(B, SB, CM, F),
        write=(B, SB, CM, F),
        why="butlers and finance chase arrears and keep their collection notes",
        notes=NOTES,
    ),
    Resource(
        "fee reports",
        (f"{BL}/reports/collection-rate", f"{BL}/reports/monthly", f"{BL}/reports/weekly"),
        read=(B, SB, CM, F, IG),
        write=(),
        why="collection-rate KPIs for the staff who collect, and for an integrator's reporting",
    ),
    Resource(
        "overdue scans",
        (f"{BL}/overdue-scans",),
        read=(),
        write=(F,),
        why="finance starts the overdue reminders",
    ),
]


def policy() -> Policy:
    return Policy("billing", RESOURCES, service_only=("/api/v1/internal",), public=("/api/v1/payments/callback",))
