"""OpenAPI examples for the account operations: what an admin sends and gets back."""

USER_CREATE = {
    "username": "butler.wang",
    "role": "butler",
    "display_name": "王管家",
    "phone": "13900139000",
    "communities": ["3f1c2a9e-5b7d-4c8e-9a1f-2b3c4d5e6f70"],
    "zones": ["5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f"],
}
USER_OUT = {
    "id": "c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f",
    "username": "butler.wang",
    "role": "butler",
    "display_name": "王管家",
    "phone": "139****9000",
    "department": None,
    "communities": ["3f1c2a9e-5b7d-4c8e-9a1f-2b3c4d5e6f70"],
    "zones": ["5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f"],
    "units": [],
    "resident_id": None,
    "active": True,
    "must_change_password": True,
}
USER_CREATED = {**USER_OUT, "initial_password": "tide-maple-4821-orbit"}
USER_PAGE = {"items": [USER_OUT], "page": 1, "page_size": 20, "total": 1}
