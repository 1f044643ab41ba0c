"""Request and response schemas of the billing API. Money is a decimal string ("1234.50"), never a number."""

import json

import marshmallow as ma

from guanjia.money import Money, Rate, parse_period
from guanjia.web import PageArgs, UtcDateTime, enum_out, page_schema

from .events import METHODS, REVERSAL_REASONS

_ID = {"validate": ma.validate.Length(min=1, max=36)}
UNIT_TYPES = ("residential", "shop", "parking", "storage")
FEE_KINDS = ("property_service", "elevator", "parking", "water", "electricity", "heating", "gas")
BASES = ("per_m2", "per_unit", "per_space", "metered")
ROUNDINGS = ("half_even", "half_up", "down", "up")
# The unit statuses residents publishes (residents.domain.common.UNIT_STATUSES), as billing's projection keeps them.
UNIT_STATUSES = ("delivered", "vacant", "occupied", "renovating")
LEDGER_KINDS = ("charge", "payment", "reversal", "credit", "refund")
BILL_KINDS = ("periodic", "deposit", "fine", "repair", "one_off")
BILL_STATUSES = ("open", "settled")
PAYMENT_STATUSES = ("received", "reversed")
NOTE_OUTCOMES = ("reached", "unreachable", "promised", "refused")


def _period(value):
    try:
        parse_period(value)
    except ValueError as exc:
        raise ma.ValidationError(str(exc)) from None


# --- units ---------------------------------------------------------------------------------------------------------


class BillingUnitOut(ma.Schema):
    unit_id = ma.fields.String()
    community_id = ma.fields.String()
    building_id = ma.fields.String(allow_none=True)
    zone_id = ma.fields.String(allow_none=True)
    number = ma.fields.String(allow_none=True)
    unit_label = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "e.g. 1栋1-101"})
    zone_name = ma.fields.String(dump_only=True, allow_none=True)
    floor = ma.fields.Integer(allow_none=True)
    unit_type = enum_out(UNIT_TYPES, allow_none=True)
    area_m2 = ma.fields.Decimal(as_string=True, places=2, allow_none=True, metadata={"example": "88.50"})
    gross_area_m2 = ma.fields.Decimal(as_string=True, places=2, allow_none=True)
    inner_area_m2 = ma.fields.Decimal(as_string=True, places=2, allow_none=True)
    status = enum_out(UNIT_STATUSES, allow_none=True)
    updated_at = UtcDateTime(attribute="source_time")


class BillingUnitListArgs(PageArgs):
    community_id = ma.fields.String(validate=ma.validate.Length(max=36))
    building_id = ma.fields.String(validate=ma.validate.Length(max=36))
    zone_id = ma.fields.String(validate=ma.validate.Length(max=36))


BillingUnitPage = page_schema(BillingUnitOut, "BillingUnitPage")


class AccountOut(ma.Schema):
    unit_id = ma.fields.String()
    balance = Money(metadata={"description": "what the unit owes (negative: in credit)"})
    outstanding = Money()
    prepaid = Money()


class LedgerEntryOut(ma.Schema):
    id = ma.fields.String()
    kind = enum_out(LEDGER_KINDS)
    amount = Money(attribute="amount_fen")
    bill_id = ma.fields.String(allow_none=True)
    payment_id = ma.fields.String(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    created_at = UtcDateTime()


LedgerPage = page_schema(LedgerEntryOut, "LedgerPage")


# --- policy and fee items ------------------------------------------------------------------------------------------


class PolicyIn(ma.Schema):
    area_basis = ma.fields.String(validate=ma.validate.OneOf(("gross", "inner")))
    due_days = ma.fields.Integer(validate=ma.validate.Range(min=0, max=365))
    vacant_discount = Rate(allow_none=True, validate=ma.validate.Range(min=0, max=1))
    reminder_first_days = ma.fields.Integer(validate=ma.validate.Range(min=1, max=3650))
    reminder_second_days = ma.fields.Integer(validate=ma.validate.Range(min=1, max=3650))
    reminder_final_days = ma.fields.Integer(validate=ma.validate.Range(min=1, max=3650))
    late_fee_enabled = ma.fields.Boolean()
    late_fee_daily_rate = Rate(places=6, validate=ma.validate.Range(min=0, max=0.01))
    late_fee_grace_days = ma.fields.Integer(validate=ma.validate.Range(min=0, max=3650))
    late_fee_cap = Rate(validate=ma.validate.Range(min=0, max=1))
    collection_target = Rate(validate=ma.validate.Range(min=0, max=1))
    renovation_deposit = Money(allow_none=True, attribute="renovation_deposit_fen", data_key="renovation_deposit")
    fine_minor = Money(allow_none=True, attribute="fine_minor_fen", data_key="fine_minor")
    fine_serious = Money(allow_none=True, attribute="fine_serious_fen", data_key="fine_serious")


class PolicyOut(PolicyIn):
    community_id = ma.fields.String()
    updated_at = UtcDateTime()


class FeeRateIn(ma.Schema):
    rate = Rate(required=True, validate=ma.validate.Range(min=0, max=100_000_000))
    effective_from = ma.fields.Date(required=True)


class FeeRateOut(ma.Schema):
    rate = Rate()
    effective_from = ma.fields.Date()


class FeeItemIn(ma.Schema):
    community_id = ma.fields.String(required=True, **_ID)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(FEE_KINDS))
    basis = ma.fields.String(required=True, validate=ma.validate.OneOf(BASES))
    rate = Rate(required=True, validate=ma.validate.Range(min=0, max=100_000_000))
    effective_from = ma.fields.Date(required=True)
    unit_types = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(UNIT_TYPES)), validate=ma.validate.Length(min=1)
    )
    exempt_floors_max = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=-10, max=200))
    rounding = ma.fields.String(validate=ma.validate.OneOf(ROUNDINGS))


class FeeItemPatch(ma.Schema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    active = ma.fields.Boolean()
    unit_types = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(UNIT_TYPES)), validate=ma.validate.Length(min=1)
    )
    exempt_floors_max = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=-10, max=200))


class FeeItemOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    name = ma.fields.String()
    kind = enum_out(FEE_KINDS)
    basis = enum_out(BASES)
    unit_types = ma.fields.Method("_unit_types")
    exempt_floors_max = ma.fields.Integer(allow_none=True)
    rounding = enum_out(ROUNDINGS)
    active = ma.fields.Boolean()
    rates = ma.fields.List(ma.fields.Nested(FeeRateOut))
    created_at = UtcDateTime()

    def _unit_types(self, item):
        return json.loads(item.unit_types)


class FeeItemListArgs(PageArgs):
    community_id = ma.fields.String(required=True, **_ID)


FeeItemPage = page_schema(FeeItemOut, "FeeItemPage")


class MeterReadingIn(ma.Schema):
    unit_id = ma.fields.String(required=True, **_ID)
    fee_item_id = ma.fields.String(required=True, **_ID)
    period = ma.fields.String(required=True, validate=_period)
    previous = Rate(places=3, required=True, validate=ma.validate.Range(min=0))
    current = Rate(places=3, required=True, validate=ma.validate.Range(min=0))


class MeterReadingOut(MeterReadingIn):
    id = ma.fields.String()
    community_id = ma.fields.String()
    created_at = UtcDateTime()


# --- runs and bills ------------------------------------------------------------------------------------------------


class RunIn(ma.Schema):
    community_id = ma.fields.String(required=True, **_ID)
    period = ma.fields.String(required=True, validate=_period, metadata={"example": "2026-11"})
    dry_run = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "compute everything the run would bill and answer 200 with it; nothing is written"},
    )
    run_id = ma.fields.UUID(
        metadata={
            "description": "the run's id, chosen by the caller so that it can follow the run's progress "
            "(GET /api/v1/billing-runs/{run_id}) while this request runs; a run of that id already made is answered"
        }
    )


RUN_STATUSES = ("running", "done", "failed")


class RunFeeItemOut(ma.Schema):
    fee_item_id = ma.fields.String(allow_none=True)
    name = ma.fields.String()
    lines = ma.fields.Integer(metadata={"description": "bills carrying this fee item"})
    amount = Money()


class RunOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    period = ma.fields.String()
    bills_created = ma.fields.Integer()
    amount = Money(attribute="amount_fen")
    requested_by = ma.fields.String()
    started_at = UtcDateTime()
    units_total = ma.fields.Integer(
        allow_none=True, metadata={"description": "the community's units (as residents listed them at the run)"}
    )
    units_fetched = ma.fields.Integer(
        allow_none=True, metadata={"description": "units billing had not heard of yet, fetched from residents first"}
    )
    status = enum_out(RUN_STATUSES, metadata={"description": "running while its units are billed, chunk by chunk"})
    units_to_bill = ma.fields.Integer(allow_none=True, metadata={"description": "units without a bill at the start"})
    units_done = ma.fields.Integer(allow_none=True, metadata={"description": "of units_to_bill, how many are done"})
    finished_at = UtcDateTime(allow_none=True)
    dry_run = ma.fields.Boolean(metadata={"description": "a preview: nothing was written"})
    by_fee_item = ma.fields.List(ma.fields.Nested(RunFeeItemOut), metadata={"description": "what it billed per item"})
    units_skipped = ma.fields.Method(
        "_skipped",
        metadata={
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "units left without a bill, by reason: already_billed, no_fee_applies, not_in_billing",
        },
    )

    def _skipped(self, run):
        return json.loads(run.units_skipped) if getattr(run, "units_skipped", None) else {}

    @ma.post_dump
    def _older_runs_are_done(self, data, **kwargs):
        # Runs made before progress was recorded ran in one transaction: they are done.
        if "status" in data and data["status"] is None:
            data["status"] = "done"
        return data


class RunListArgs(PageArgs):
    community_id = ma.fields.String(required=True, **_ID)


RunPage = page_schema(RunOut, "RunPage")


class BillLineOut(ma.Schema):
    fee_item_id = ma.fields.String(allow_none=True)
    description = ma.fields.String()
    quantity = ma.fields.Decimal(as_string=True, allow_none=True)
    rate = ma.fields.Decimal(as_string=True, allow_none=True)
    days = ma.fields.Integer(allow_none=True)
    amount = Money(attribute="amount_fen")


class BillOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    unit_id = ma.fields.String()
    unit_label = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "e.g. 1栋1-101"})
    building_id = ma.fields.String(allow_none=True)
    zone_id = ma.fields.String(allow_none=True)
    zone_name = ma.fields.String(dump_only=True, allow_none=True)
    kind = enum_out(BILL_KINDS)
    period = ma.fields.String()
    period_start = ma.fields.Date()
    period_end = ma.fields.Date()
    due_date = ma.fields.Date()
    description = ma.fields.String(allow_none=True)
    amount = Money(attribute="amount_fen")
    credited = Money(attribute="credited_fen")
    paid = Money(attribute="paid_fen")
    outstanding = Money(attribute="outstanding_fen")
    status = ma.fields.Method("_status", metadata={"type": "string", "enum": list(BILL_STATUSES)})
    payer_id = ma.fields.String(allow_none=True)
    issued_at = UtcDateTime()

    def _status(self, bill):
        return "open" if bill.outstanding_fen > 0 else "settled"


class BillDetailOut(BillOut):
    lines = ma.fields.List(ma.fields.Nested(BillLineOut))
    late_fee = Money(
        metadata={"description": "accrued late fee (shown, not billed); 0.00 unless the policy enables it"}
    )


class BillListArgs(PageArgs):
    community_id = ma.fields.String(**_ID)
    unit_id = ma.fields.String(**_ID)
    building_id = ma.fields.String(**_ID)
    zone_id = ma.fields.String(**_ID)
    period = ma.fields.String(validate=_period)
    kind = ma.fields.String(validate=ma.validate.OneOf(BILL_KINDS))
    status = ma.fields.String(validate=ma.validate.OneOf(BILL_STATUSES))


BillPage = page_schema(BillOut, "BillPage")


class ChargeIn(ma.Schema):
    unit_id = ma.fields.String(required=True, **_ID)
    description = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    amount = Money(required=True, positive=True)
    due_date = ma.fields.Date()
    payer_id = ma.fields.String(allow_none=True, **_ID)


class CreditIn(ma.Schema):
    amount = Money(required=True, positive=True)
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))


# --- payments ------------------------------------------------------------------------------------------------------


class PaymentIn(ma.Schema):
    unit_id = ma.fields.String(required=True, **_ID)
    amount = Money(required=True, positive=True)
    method = ma.fields.String(required=True, validate=ma.validate.OneOf(METHODS))
    bill_ids = ma.fields.List(ma.fields.String(**_ID), validate=ma.validate.Length(min=1, max=100))
    prepaid = ma.fields.Boolean(
        load_default=False, metadata={"description": "keep what exceeds the bills as prepaid balance (预存)"}
    )
    received_at = ma.fields.AwareDateTime()
    payer_id = ma.fields.String(allow_none=True, **_ID)
    note = ma.fields.String(validate=ma.validate.Length(max=500))
    reference = ma.fields.String(
        validate=ma.validate.Length(min=1, max=100),
        metadata={"description": "the slip's number: bank transfer, WeChat or Alipay order (shown on the receipt)"},
    )


class PaymentOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    unit_id = ma.fields.String()
    unit_label = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "e.g. 1栋1-101"})
    recorded_by_name = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "the cashier"})
    amount = Money(attribute="amount_fen")
    method = enum_out(METHODS)
    status = enum_out(PAYMENT_STATUSES)
    receipt_number = ma.fields.String()
    received_at = UtcDateTime()
    payer_id = ma.fields.String(allow_none=True)
    provider = ma.fields.String(allow_none=True)
    provider_reference = ma.fields.String(allow_none=True)
    reference = ma.fields.String(allow_none=True)
    reversed_at = UtcDateTime(allow_none=True)
    reversal_reason = ma.fields.String(allow_none=True)


class PaymentListArgs(PageArgs):
    community_id = ma.fields.String(**_ID)
    unit_id = ma.fields.String(**_ID)
    method = ma.fields.String(validate=ma.validate.OneOf(METHODS))
    status = ma.fields.String(validate=ma.validate.OneOf(PAYMENT_STATUSES))


PaymentPage = page_schema(PaymentOut, "PaymentPage")


class PrepaidRefundIn(ma.Schema):
    amount = Money(required=True, positive=True)
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))


class PrepaidRefundOut(ma.Schema):
    unit_id = ma.fields.String()
    refunded = Money()
    prepaid = Money(metadata={"description": "the prepaid balance left"})


class ReversalIn(ma.Schema):
    reason_code = ma.fields.String(required=True, validate=ma.validate.OneOf(REVERSAL_REASONS))
    note = ma.fields.String(validate=ma.validate.Length(max=500))


class ReceiptLineOut(ma.Schema):
    description = ma.fields.String(metadata={"description": "the fee item's name (物业服务费) or the line's text"})
    amount = Money()


class ReceiptItemOut(ma.Schema):
    bill_id = ma.fields.String(allow_none=True)
    description = ma.fields.String()
    period = ma.fields.String(allow_none=True)
    amount = Money(metadata={"description": "what this payment paid of the bill"})
    lines = ma.fields.List(ma.fields.Nested(ReceiptLineOut), metadata={"description": "the bill's charged lines"})


class ReceiptOut(ma.Schema):
    receipt_number = ma.fields.String()
    payment_id = ma.fields.String()
    company_name = ma.fields.String(metadata={"description": "the property company (GUANJIA_COMPANY_NAME)"})
    community_id = ma.fields.String()
    community_name = ma.fields.String(allow_none=True)
    unit_id = ma.fields.String()
    unit_number = ma.fields.String(allow_none=True)
    unit_label = ma.fields.String(allow_none=True, metadata={"description": "e.g. 1栋1-101"})
    amount = Money()
    amount_in_words = ma.fields.String(metadata={"description": "大写金额, e.g. 壹仟贰佰叁拾肆元伍角整"})
    method = enum_out(METHODS)
    reference = ma.fields.String(allow_none=True)
    received_at = UtcDateTime()
    recorded_by = ma.fields.String()
    recorded_by_name = ma.fields.String(allow_none=True, metadata={"description": "the cashier"})
    status = enum_out(PAYMENT_STATUSES)
    reversed_at = UtcDateTime(allow_none=True)
    reversal_reason = enum_out(REVERSAL_REASONS, allow_none=True)
    items = ma.fields.List(ma.fields.Nested(ReceiptItemOut))


class ProviderPaymentIn(ma.Schema):
    provider = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40))
    reference = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    community_id = ma.fields.String(required=True, **_ID)
    unit_id = ma.fields.String(required=True, **_ID)
    amount = Money(required=True, positive=True)
    method = ma.fields.String(required=True, validate=ma.validate.OneOf(("wechat", "alipay", "card", "bank_transfer")))
    paid_at = ma.fields.AwareDateTime(required=True)
    bill_ids = ma.fields.List(ma.fields.String(**_ID), validate=ma.validate.Length(min=1, max=100))
    payer_id = ma.fields.String(allow_none=True, **_ID)


# --- arrears and reports -------------------------------------------------------------------------------------------


class ArrearsArgs(ma.Schema):
    community_id = ma.fields.String(required=True, **_ID)
    group_by = ma.fields.String(
        load_default="unit", validate=ma.validate.OneOf(("unit", "building", "zone", "butler", "community"))
    )
    as_of = ma.fields.Date()


class CollectionListArgs(ma.Schema):
    community_id = ma.fields.String(required=True, **_ID)
    zone_id = ma.fields.String(**_ID)
    as_of = ma.fields.Date()


class NoteIn(ma.Schema):
    unit_id = ma.fields.String(required=True, **_ID)
    outcome = ma.fields.String(required=True, validate=ma.validate.OneOf(NOTE_OUTCOMES))
    promised_on = ma.fields.Date()
    note = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


class NoteOut(ma.Schema):
    id = ma.fields.String()
    unit_id = ma.fields.String()
    author = ma.fields.String()
    outcome = enum_out(NOTE_OUTCOMES)
    promised_on = ma.fields.Date(allow_none=True)
    note = ma.fields.String()
    created_at = UtcDateTime()


class ReminderOut(ma.Schema):
    stage = enum_out(("first", "second", "final"))
    noticed_on = ma.fields.Date()


class CollectionItemOut(ma.Schema):
    unit_id = ma.fields.String()
    unit_number = ma.fields.String(allow_none=True)
    zone_id = ma.fields.String(allow_none=True)
    amount_due = ma.fields.String()
    oldest_due_date = ma.fields.Date()
    days_overdue = ma.fields.Integer()
    bills = ma.fields.Integer()
    payer_id = ma.fields.String(allow_none=True)
    notes = ma.fields.List(ma.fields.Nested(NoteOut))
    last_reminder = ma.fields.Nested(
        ReminderOut, allow_none=True, metadata={"description": "the newest overdue reminder sent (none yet: null)"}
    )


class CollectionListOut(ma.Schema):
    community_id = ma.fields.String()
    as_of = ma.fields.Date()
    items = ma.fields.List(ma.fields.Nested(CollectionItemOut))


RATE_GROUPS = ("community", "zone", "butler")


def _rate_groups(value: str) -> None:
    found = value.split(",")
    if any(name not in RATE_GROUPS for name in found) or len(set(found)) != len(found):
        raise ma.ValidationError(f"one or more of {', '.join(RATE_GROUPS)}, comma-separated, each once")


class RateArgs(ma.Schema):
    community_id = ma.fields.String(required=True, **_ID)
    period = ma.fields.String(required=True, validate=_period)
    # One grouping, or several comma-separated (`zone,butler`): then each one's report under `by`, read at once.
    group_by = ma.fields.String(load_default="community", validate=_rate_groups)
    as_of = ma.fields.Date()


class MonthlyArgs(ma.Schema):
    community_id = ma.fields.String(required=True, **_ID)
    month = ma.fields.String(required=True, validate=_period)
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(("json", "xlsx")))


class WeeklyArgs(ma.Schema):
    community_id = ma.fields.String(required=True, **_ID)
    week_of = ma.fields.Date()
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(("json", "xlsx")))


class ScanIn(ma.Schema):
    as_of = ma.fields.Date(metadata={"description": "the day to scan as (default: today in the instance timezone)"})


class DepositStateArgs(ma.Schema):
    community_id = ma.fields.String(required=True, **_ID)


class DepositStateOut(ma.Schema):
    renovation_id = ma.fields.String()
    status = ma.fields.String(metadata={"enum": ["paid", "outstanding", "not_required", "not_billed"]})
    bill_id = ma.fields.String(allow_none=True)
    amount = Money(allow_none=True, attribute="amount_fen")
    outstanding = Money(allow_none=True, attribute="outstanding_fen")
