"""OpenAPI examples for the notice operations: what a client sends and gets back."""

NOTICE_IN = {
    "community_id": "3f1c2a9e-5b7d-4c8e-9a1f-2b3c4d5e6f70",
    "scope": "building",
    "target_id": "8a2b3c4d-1e2f-4a5b-8c7d-9e0f1a2b3c4d",
    "title": "停水通知",
    "body": "11月5日9:00-12:00 1栋停水检修，请提前储水。",
}
NOTICE_OUT = {
    "id": "a7b8c9d0-e1f2-4a3b-8c4d-5e6f7a8b9c0d",
    **NOTICE_IN,
    "urgent": False,
    "essential": True,
    "recipients": 42,
    "deliveries": {"pending": 40, "skipped": 2},
    "created_by": "c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f",
    "created_at": "2026-11-02T01:30:00+00:00",
}
NOTICE_PAGE = {"items": [NOTICE_OUT], "page": 1, "page_size": 20, "total": 1}
