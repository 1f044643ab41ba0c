"""The context handlers and the dispatcher receive: settings, SMS and WeChat settings, the directory, providers, the
clock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from guanjia.db import Database, utcnow

from . import config as smsconfig
from .config import SmsSettings, SmtpSettings, WechatSettings
from .directory import Directory
from .domain import opt_outs
from .sms import ProviderChain, provider_chain
from .wechat import WechatClient


@dataclass
class Context:
    """What handlers and the dispatcher receive: settings, SMS settings, the directory, providers, the clock."""

    settings: object
    sms: SmsSettings
    directory: Directory
    chain: ProviderChain
    clock: Callable[[], datetime] = utcnow
    wechat: WechatSettings = field(default_factory=WechatSettings)
    wechat_client: WechatClient | None = None
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    # When the dispatcher last looked for sends lost with their worker (claim_due: at most once a second).
    stale_checked_at: datetime | None = field(default=None, repr=False)
    _pool: ThreadPoolExecutor | None = field(default=None, repr=False)
    _db: Database | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.sms.dispatch_concurrency, thread_name_prefix="sms-send")
            return self._pool

    def opted_out(self, recipient_id: str) -> bool:
        with self._lock:
            if self._db is None:
                self._db = Database(self.settings.database_url, pool_size=2)
        with self._db.transaction() as session:
            return opt_outs.is_opted_out(session, recipient_id)


def make_context(
    settings,
    upstreams: dict,
    *,
    clock=None,
    sms: SmsSettings | None = None,
    wechat: WechatSettings | None = None,
    smtp: SmtpSettings | None = None,
) -> Context:
    """`clock` defaults to the wall clock (tests pass a controllable one); `sms` to the GUANJIA_SMS_* settings,
    `wechat` to the GUANJIA_WECHAT_* ones, `smtp` to GUANJIA_SMTP_*."""
    sms = sms or smsconfig.from_env(settings)
    wechat = wechat or smsconfig.wechat_from_env(settings)
    clock = clock or utcnow
    return Context(
        settings=settings,
        sms=sms,
        directory=Directory(settings, upstreams),
        chain=provider_chain(sms),
        clock=clock,
        wechat=wechat,
        # The access token's expiry is reckoned on the context's clock (WeChat's 7200 s from when it was issued).
        wechat_client=WechatClient(wechat, clock),
        smtp=smtp or smsconfig.smtp_from_env(settings),
    )
