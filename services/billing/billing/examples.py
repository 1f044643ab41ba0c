"""OpenAPI examples for the main billing operations (bills, payments): what a client sends and gets back."""

COMMUNITY = "3f1c2a9e-5b7d-4c8e-9a1f-2b3c4d5e6f70"
UNIT = "7e05c7e0-938e-417f-9521-e045941d3a06"

CHARGE_IN = {"unit_id": UNIT, "description": "门禁卡补办", "amount": "20.00", "due_date": "2026-11-30"}
BILL_OUT = {
    "id": "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b",
    "community_id": COMMUNITY,
    "unit_id": UNIT,
    "unit_label": "1栋1-101",
    "building_id": "8a2b3c4d-1e2f-4a5b-8c7d-9e0f1a2b3c4d",
    "zone_id": "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f",
    "zone_name": "一区",
    "kind": "one_off",
    "period": "2026-11",
    "period_start": "2026-11-01",
    "period_end": "2026-11-30",
    "due_date": "2026-11-30",
    "description": "门禁卡补办",
    "amount": "20.00",
    "credited": "0.00",
    "paid": "0.00",
    "outstanding": "20.00",
    "status": "open",
    "payer_id": None,
    "issued_at": "2026-11-02T01:30:00+00:00",
}
BILL_PAGE = {"items": [BILL_OUT], "page": 1, "page_size": 20, "total": 1}

PAYMENT_IN = {"unit_id": UNIT, "amount": "1234.50", "method": "wechat"}
PAYMENT_OUT = {
    "id": "f6a7b8c9-d0e1-4f2a-8b3c-4d5e6f7a8b9c",
    "community_id": COMMUNITY,
    "unit_id": UNIT,
    "unit_label": "1栋1-101",
    "recorded_by_name": "李会计",
    "amount": "1234.50",
    "method": "wechat",
    "status": "received",
    "receipt_number": "R2026-000123",
    "received_at": "2026-11-02T01:40:00+00:00",
    "payer_id": None,
    "provider": None,
    "provider_reference": None,
    "reversed_at": None,
    "reversal_reason": None,
}
PAYMENT_PAGE = {"items": [PAYMENT_OUT], "page": 1, "page_size": 20, "total": 1}
