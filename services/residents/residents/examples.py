"""OpenAPI examples for the main operations (units, residents): what a client sends and gets back."""

COMMUNITY = "3f1c2a9e-5b7d-4c8e-9a1f-2b3c4d5e6f70"
BUILDING = "8a2b3c4d-1e2f-4a5b-8c7d-9e0f1a2b3c4d"
ZONE = "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f"
UNIT = "7e05c7e0-938e-417f-9521-e045941d3a06"
RESIDENT = "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e"

UNIT_CREATE = {
    "building_id": BUILDING,
    "number": "1-101",
    "floor": 1,
    "gross_area_m2": "89.50",
    "unit_type": "residential",
}
UNIT_OUT = {
    "id": UNIT,
    "community_id": COMMUNITY,
    "building_id": BUILDING,
    "zone_id": ZONE,
    "number": "1-101",
    "unit_label": "1栋1-101",
    "building_name": "1栋",
    "zone_name": "一区",
    "floor": 1,
    "unit_type": "residential",
    "area_m2": "89.50",
    "gross_area_m2": "89.50",
    "inner_area_m2": None,
    "status": "vacant",
    "handed_over_at": None,
    "created_at": "2026-11-02T01:30:00+00:00",
    "updated_at": "2026-11-02T01:30:00+00:00",
}
UNIT_PAGE = {"items": [UNIT_OUT], "page": 1, "page_size": 20, "total": 1}

RESIDENT_CREATE = {"unit_id": UNIT, "name": "张三", "phone": "13800138000", "role": "owner"}
RESIDENT_OUT = {
    "id": RESIDENT,
    "community_id": COMMUNITY,
    "unit_id": UNIT,
    "unit_label": "1栋1-101",
    "name": "张*",
    "phone": "138****8000",
    "id_number": None,
    "role": "owner",
    "status": "registered",
    "emergency_contact": None,
    "tags": [],
    "notes": None,
    "sms_opt_out": False,
    "moved_in_at": None,
    "moved_out_at": None,
    "created_at": "2026-11-02T01:35:00+00:00",
    "updated_at": "2026-11-02T01:35:00+00:00",
}
RESIDENT_PAGE = {"items": [RESIDENT_OUT], "page": 1, "page_size": 20, "total": 1}
