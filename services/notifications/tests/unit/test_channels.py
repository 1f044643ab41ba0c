"""Channels without infrastructure: WeChat settings and per-rule channel order, errcode classes, masking, and the
inbox's text without the SMS signature."""

import pytest

from notifications.config import WechatSettings, check, smtp_from_env, wechat_from_env
from notifications.domain.inbox_messages import without_signature
from notifications.templates import inbox_title
from notifications.wechat import PERMANENT, THROTTLED, TOKEN, TRANSIENT, classify, mask_openid


def test_the_rule_order_keeps_wechat_only_where_it_is_on_and_has_a_template():
    off = WechatSettings(templates={"notice": "t1"})
    assert off.order("notice") == ("sms",)
    on = WechatSettings(
        app_id="wx1", app_secret="s", templates={"notice": "t1"}, channels={"payment.received": ("sms",)}
    )
    assert on.order("notice") == ("wechat", "sms")
    assert on.order("payment.received") == ("sms",)
    assert on.order("ticket.created") == ("sms",)  # no WeChat template for it
    only = WechatSettings(app_id="wx1", app_secret="s", templates={"notice": "t1"}, channels={"notice": ("wechat",)})
    assert only.order("notice") == ("wechat",)


def test_wechat_settings_from_the_environment():
    env = {
        "GUANJIA_WECHAT_APP_ID": "wx1",
        "GUANJIA_WECHAT_APP_SECRET": "s",
        "GUANJIA_WECHAT_ENDPOINT": "http://127.0.0.1:9/",
        "GUANJIA_WECHAT_TEMPLATES": '{"notice": "tpl"}',
        "GUANJIA_WECHAT_CHANNELS": '{"notice": "wechat, sms", "ticket.created": "sms"}',
        "GUANJIA_WECHAT_QUIET_HOURS": "off",
    }
    settings = wechat_from_env(env=env)
    assert settings.enabled and settings.endpoint == "http://127.0.0.1:9" and not settings.quiet_hours
    assert settings.channels == {"notice": ("wechat", "sms"), "ticket.created": ("sms",)}
    assert not wechat_from_env(env={}).enabled
    with pytest.raises(RuntimeError, match="GUANJIA_WECHAT_CHANNELS"):
        wechat_from_env(env={"GUANJIA_WECHAT_CHANNELS": '{"notice": "pigeon"}'})
    with pytest.raises(RuntimeError, match="GUANJIA_WECHAT_QUIET_HOURS"):
        wechat_from_env(env={"GUANJIA_WECHAT_QUIET_HOURS": "maybe"})

    class Settings:
        env = {"GUANJIA_WECHAT_TOKEN_MARGIN_SECONDS": "soon"}

    assert any("GUANJIA_WECHAT_TOKEN_MARGIN_SECONDS" in problem for problem in check(Settings()))


@pytest.mark.parametrize(
    ("code", "kind"),
    [(40003, PERMANENT), (43004, PERMANENT), (40037, PERMANENT), (42001, TOKEN), (40001, TOKEN), (45009, THROTTLED)]
    + [(-1, TRANSIENT), (99999, TRANSIENT)],
)
def test_wechat_errcodes_are_classified(code, kind):
    assert classify(code) == kind


def test_openids_are_masked_and_the_inbox_drops_the_sms_signature():
    assert mask_openid("oAbcdefghijklmnopqrstuvwxyz1") == "oAbc****xyz1"
    assert mask_openid("short") == "****" and mask_openid(None) is None
    assert without_signature("【】您的工单已处理完毕。") == "您的工单已处理完毕。"
    assert without_signature("[] Your ticket is resolved.") == "Your ticket is resolved."
    assert without_signature("没有签名") == "没有签名"
    assert inbox_title("fee.overdue.first", "en") == "Payment reminder" and inbox_title("unknown", "zh-CN") == "通知"


def test_the_instance_configuration_carries_the_wechat_and_smtp_variables_secrets_from_files_too(tmp_path):
    """The instance configuration (the variables the settings were read from) carries WeChat and SMTP too."""
    from guanjia import config

    secret = tmp_path / "wechat-secret"
    secret.write_text("from-a-file\n")
    env = {
        "GUANJIA_PII_KEY": "k",
        "GUANJIA_SMS_PROVIDER": "console",
        "GUANJIA_WECHAT_APP_ID": "wx1",
        "GUANJIA_WECHAT_APP_SECRET_FILE": str(secret),
        "GUANJIA_SMTP_HOST": "smtp.example.org",
        "GUANJIA_SMTP_REPORT_RECIPIENTS": '{"c1": ["m@example.org"]}',
    }
    settings = config.from_env("notifications", env)
    wechat = wechat_from_env(settings)
    assert wechat.enabled and wechat.app_secret == "from-a-file"
    assert smtp_from_env(settings).enabled
