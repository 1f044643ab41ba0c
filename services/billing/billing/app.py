"""create_app(): the billing service's Flask app; nothing is built at import time."""

from __future__ import annotations

from guanjia import access, config, http, metrics, web
from guanjia.db import Database, utcnow

from . import config as billing_config
from .callbacks import hmac_verifier
from .gauges import collection_rate_reader


def create_app(settings=None, upstreams=None, *, clock=None, billing=None, callback_verifier=None):
    """`clock` (a function returning an aware datetime), `billing` (BillingSettings, default from the settings'
    environment) and `callback_verifier` (headers, raw body → bool) are replaceable; the default verifier checks
    HMAC-SHA256 with GUANJIA_BILLING_CALLBACK_SECRET."""
    settings = settings or config.from_env("billing")
    billing = billing or billing_config.from_env(settings.env)
    clock = clock or utcnow
    upstreams = upstreams if upstreams is not None else http.upstreams_for(settings)
    database = Database(settings.database_url)
    from .api import BLUEPRINTS, CALLBACK_PATH

    app, api = web.create_flask_app(
        settings,
        title="Guanjia billing",
        database_=database,
        clock=clock,
        public_paths=(CALLBACK_PATH,),
        description="Fee rules, billing runs, bills, payments and receipts, arrears, reminders and fee reports.",
    )
    app.extensions["guanjia.upstreams"] = upstreams  # the gateway answers staff display names
    app.extensions["billing.residents"] = http.ServiceClient(settings, upstreams, "residents")
    # Staff display names for reports grouped by butler (the gateway owns the accounts).
    app.extensions["billing.gateway"] = http.ServiceClient(
        settings, http.RoutedUpstreams(settings, upstreams), "gateway"
    )
    app.extensions["billing.settings"] = billing
    if callback_verifier is None:
        secret = billing.callback_secret
        callback_verifier = hmac_verifier(secret) if secret else None  # no secret: callbacks are refused (401)
    app.extensions["billing.callback_verifier"] = callback_verifier
    from .policy import policy

    access.install(app, policy())
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    metrics.register_state("billing", collection_rate_reader(settings, clock))
    return app
