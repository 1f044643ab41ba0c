"""The SMS provider settings in force, as an admin may read them: every secret reduced to whether it is set."""

from __future__ import annotations

from guanjia.auth import Principal, require_role

from ..config import SmsSettings

# Per provider: (field, is it a secret). A secret is never shown, not even in part; an identifier shows its ends.
FIELDS = {
    "aliyun": (
        ("access_key_id", "id"),
        ("access_key_secret", "secret"),
        ("endpoint", "plain"),
        ("region", "plain"),
        ("callback_token", "secret"),
    ),
    "tencent": (
        ("secret_id", "id"),
        ("secret_key", "secret"),
        ("sdk_app_id", "plain"),
        ("endpoint", "plain"),
        ("region", "plain"),
        ("callback_token", "secret"),
    ),
    "twilio": (
        ("account_sid", "id"),
        ("auth_token", "secret"),
        ("from_number", "plain"),
        ("messaging_service_sid", "plain"),
        ("endpoint", "plain"),
        ("status_callback_url", "plain"),
    ),
}


def _shown(value: str, kind: str) -> dict:
    if kind == "secret":
        return {"set": bool(value), "value": None}
    if kind == "id" and value:
        return {"set": True, "value": f"{value[:4]}****{value[-2:]}" if len(value) > 8 else "****"}
    return {"set": bool(value), "value": value or None}


def provider_settings(principal: Principal, sms: SmsSettings) -> dict:
    """Admin only: the provider chain, signature, quiet hours, caps and each provider's settings (masked)."""
    require_role(principal, "admin")
    providers = []
    for name, fields in FIELDS.items():
        own = getattr(sms, name)
        providers.append(
            {
                "name": name,
                "in_chain": name in sms.chain,
                "fields": [{"name": field, **_shown(getattr(own, field), kind)} for field, kind in fields],
                "templates": dict(getattr(own, "templates", {}) or {}),
            }
        )
    return {
        "provider": sms.provider,
        "chain": list(sms.chain),
        "signature": sms.signature,
        "quiet_hours": (
            f"{sms.quiet_start:%H:%M}-{sms.quiet_end:%H:%M}" if sms.quiet_start and sms.quiet_end else None
        ),
        "recipient_per_minute": sms.recipient_per_minute,
        "recipient_per_day": sms.recipient_per_day,
        "community_daily_budget": sms.community_daily_budget,
        "price_fen_per_segment": str(sms.price_fen_per_segment),
        "providers": providers,
    }
