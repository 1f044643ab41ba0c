"""Events the billing service publishes: their type names and payload schemas (the contract).

Money is a decimal string ("1234.50") in every payload; ids only, never names or phone numbers.
"""

import marshmallow as ma

BILL_ISSUED = "bill.issued"
PAYMENT_RECEIVED = "payment.received"
PAYMENT_REVERSED = "payment.reversed"
FEE_OVERDUE = "fee.overdue"
DEPOSIT_REFUNDED = "deposit.refunded"

_AMOUNT = {"required": True, "validate": ma.validate.Regexp(r"^-?\d+\.\d{2}$")}
METHODS = ("cash", "wechat", "alipay", "bank_transfer", "card")
REVERSAL_REASONS = ("entry_error", "refund", "bounced", "other")
STAGES = ("first", "second", "final")


class BillIssued(ma.Schema):
    bill_id = ma.fields.String(required=True)
    unit_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    period = ma.fields.String(required=True)
    amount = ma.fields.String(**_AMOUNT)
    due_date = ma.fields.Date(required=True)
    payer_id = ma.fields.String(required=True, allow_none=True)


class PaymentReceived(ma.Schema):
    payment_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    unit_id = ma.fields.String(required=True)
    amount = ma.fields.String(**_AMOUNT)
    method = ma.fields.String(required=True, validate=ma.validate.OneOf(METHODS))
    receipt_number = ma.fields.String(required=True)
    received_at = ma.fields.AwareDateTime(required=True)
    payer_id = ma.fields.String(required=True, allow_none=True)


class PaymentReversed(ma.Schema):
    payment_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    unit_id = ma.fields.String(required=True)
    amount = ma.fields.String(**_AMOUNT)
    reversed_at = ma.fields.AwareDateTime(required=True)
    reason_code = ma.fields.String(required=True, validate=ma.validate.OneOf(REVERSAL_REASONS))


class FeeOverdue(ma.Schema):
    bill_id = ma.fields.String(required=True)
    unit_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    period = ma.fields.String(required=True)
    amount_due = ma.fields.String(**_AMOUNT)
    due_date = ma.fields.Date(required=True)
    stage = ma.fields.String(required=True, validate=ma.validate.OneOf(STAGES))
    days_overdue = ma.fields.Integer(required=True)
    payer_id = ma.fields.String(required=True, allow_none=True)


class DepositRefunded(ma.Schema):
    deposit_id = ma.fields.String(required=True)
    renovation_id = ma.fields.String(required=True)
    unit_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    amount = ma.fields.String(**_AMOUNT)
    fines_deducted = ma.fields.String(**_AMOUNT)
    refunded_at = ma.fields.AwareDateTime(required=True)


PUBLISHED = {
    BILL_ISSUED: BillIssued,
    PAYMENT_RECEIVED: PaymentReceived,
    PAYMENT_REVERSED: PaymentReversed,
    FEE_OVERDUE: FeeOverdue,
    DEPOSIT_REFUNDED: DepositRefunded,
}
