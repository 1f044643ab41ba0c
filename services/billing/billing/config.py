"""Billing-owned settings: the company named on receipts, the payment provider's callback secret (GUANJIA_* vars)."""

from __future__ import annotations

import dataclasses
import os

from guanjia import config


@dataclasses.dataclass(frozen=True)
class BillingSettings:
    # The property company's name printed on receipts (GUANJIA_COMPANY_NAME; the SMS signature when unset).
    company_name: str = "管家物业"
    # HMAC-SHA256 key of the payment provider's callbacks (GUANJIA_BILLING_CALLBACK_SECRET[_FILE]); unset: refused.
    callback_secret: str = ""


def from_env(env=None) -> BillingSettings:
    """BillingSettings from the environment (documented in docs/billing.md); ConfigError names a bad variable."""
    env = os.environ if env is None else env
    read = config.Reader(env)
    settings = BillingSettings(
        company_name=env.get("GUANJIA_COMPANY_NAME") or env.get("GUANJIA_SMS_SIGNATURE") or "管家物业",
        callback_secret=read.secret("GUANJIA_BILLING_CALLBACK_SECRET"),
    )
    read.done()
    return settings
