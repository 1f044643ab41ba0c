"""create_app(): the notifications service's Flask app; nothing is built at import time."""

from __future__ import annotations

from guanjia import access, config, web
from guanjia.db import Database


def create_app(settings=None, upstreams=None, *, clock=None, sms=None, wechat=None):
    """`clock` is the app's one clock (tests inject one); `sms` (SmsSettings) defaults to the GUANJIA_SMS_* environment,
    `wechat` (WechatSettings) to GUANJIA_WECHAT_*."""
    from .api import RECEIPT_PATHS, blp, inbox, internal, notices, receipts, templates
    from .api import wechat as wechat_bindings
    from .context import make_context

    settings = settings or config.from_env("notifications")
    database = Database(settings.database_url)
    app, api = web.create_flask_app(
        settings,
        title="Guanjia notifications",
        database_=database,
        clock=clock,
        public_paths=RECEIPT_PATHS,
        description="SMS, WeChat and the in-app inbox for residents and staff: delivery log, inbox, notices, templates, "
        "receipts, statistics.",
    )
    # Directory (residents, gateway) for notices and the SMS settings (receipt tokens, prices).
    app.extensions["notifications.context"] = make_context(
        settings, upstreams or {}, clock=clock, sms=sms, wechat=wechat
    )
    from .policy import policy

    access.install(app, policy())
    for blueprint in (blp, notices, templates, inbox, wechat_bindings, internal, receipts):
        api.register_blueprint(blueprint)
    return app
