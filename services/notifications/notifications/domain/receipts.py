"""Providers' delivery receipts: sent → delivered | failed, once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from guanjia import metrics
from guanjia.pii import pii_lookup_hash

from .. import events
from ..models import Delivery, WechatBinding
from ..sms import aliyun_phone
from .deliveries import NotificationEvents, fail, fall_back

# A message sent in a batch call shares the call's id with the others: its provider_message_id is that id and a key
# of its number (never the number in clear), which the provider's report names too. 16 hex digits: no two of a
# call's ≤100 numbers share one.
NUMBER_KEY_LENGTH = 16


def _number_key(pii_key: str, number: str) -> str:
    return pii_lookup_hash(pii_key, f"sms-batch:{number}")[:NUMBER_KEY_LENGTH]


def batch_message_id(pii_key: str, call_id: str, phone: str) -> str:
    """The id of one number's message in a batch call (`phone` E.164): `<call id>:<key of the number as sent>`."""
    return f"{call_id}:{_number_key(pii_key, aliyun_phone(phone))}"


def aliyun_message_ids(pii_key: str, biz_id: str, phone_number: str | None) -> list[str]:
    """The ids an Aliyun report may name: a SendSms message (BizId alone), or one number of a SendBatchSms call
    (BizId and the number; mainland numbers come as 11 digits, perhaps with the country code)."""
    ids = [biz_id]
    digits = "".join(ch for ch in phone_number or "" if ch.isdigit())
    if digits:
        if len(digits) == 13 and digits.startswith("861"):
            digits = digits[2:]
        ids.append(f"{biz_id}:{_number_key(pii_key, digits)}")
    return ids


def apply_receipt(
    session: Session,
    settings,
    now: datetime,
    *,
    provider: str,
    message_id: str | list[str],
    delivered: bool,
    error_code: str | None,
) -> str:
    """A provider's delivery report: sent → delivered | failed, once. 'applied', 'duplicate' or 'unknown'.
    `message_id` may be the ids the report can mean (aliyun_message_ids): at most one of them is a delivery's."""
    ids = [message_id] if isinstance(message_id, str) else message_id
    query = (
        select(Delivery).where(Delivery.provider == provider, Delivery.provider_message_id.in_(ids)).with_for_update()
    )
    row = session.execute(query).scalars().first()
    if row is None:
        return "unknown"
    if row.status != "sent":
        return "duplicate"  # receipts repeat; the first one counts
    written = NotificationEvents(settings, now)
    metrics.sms("notifications", provider, "delivered" if delivered else "failed")
    if delivered:
        row.status, row.delivered_at = "delivered", now
        written.emit(session, row, events.NOTIFICATION_DELIVERED)
    else:
        fail(session, written, row, now, error_code or "undelivered", f"receipt: {error_code or 'undelivered'}")
    return "applied"


def apply_wechat_event(session: Session, settings, wechat, now: datetime, event: dict) -> str:
    """An event WeChat pushes to the official account's server URL: a template message's outcome
    (TEMPLATESENDJOBFINISH: success, "failed:user block", "failed: system failed" — a failure falls back to SMS),
    or a follower leaving (unsubscribe: their bindings go, found by the openid's lookup hash). What it did."""
    kind = event.get("Event", "")
    if event.get("MsgType") != "event":
        return "ignored"
    if kind == "TEMPLATESENDJOBFINISH":
        status, message_id = event.get("Status", ""), event.get("MsgID", "")
        delivered = status == "success"
        code = None if delivered else f"wechat:{status}"[:100]
        outcome = apply_receipt(
            session, settings, now, provider="wechat", message_id=message_id, delivered=delivered, error_code=code
        )
        if outcome == "applied" and not delivered:
            query = select(Delivery).where(Delivery.provider == "wechat", Delivery.provider_message_id == message_id)
            row = session.execute(query).scalars().first()
            fall_back(session, row, now, wechat)
        return outcome
    if kind == "unsubscribe" and event.get("FromUserName"):
        key = pii_lookup_hash(settings.pii_key, event["FromUserName"])
        gone = session.execute(delete(WechatBinding).where(WechatBinding.openid_hash == key)).rowcount
        return "unbound" if gone else "unknown"
    return "ignored"
