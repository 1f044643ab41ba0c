"""Settings an operator gets wrong: every secret from a file, every bad value named with what it accepts, and the
CLI answering with one line instead of a traceback."""

from __future__ import annotations

import pytest

from gateway import config as gateway_config
from guanjia import config
from guanjia.cli import main

DISTRIBUTED = {"GUANJIA_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/%2F"}


@pytest.mark.parametrize("name", config.SECRET_VARIABLES)
def test_every_secret_variable_has_a_file_variant(tmp_path, name):
    path = tmp_path / "secret"
    path.write_text("  from-a-file\n")
    assert config.secret(name, {f"{name}_FILE": str(path)}) == "from-a-file"
    # The variable itself wins over its file.
    assert config.secret(name, {name: "direct", f"{name}_FILE": str(path)}) == "direct"


def test_settings_read_the_keys_passwords_and_provider_secrets_from_files(tmp_path):
    files = {}
    for name, value in {
        "GUANJIA_PII_KEY": "pii-key-from-file",
        "GUANJIA_SERVICE_KEY": "c2VydmljZS1rZXktZnJvbS1hLWZpbGUtMzItYnl0ZXM",
        "GUANJIA_ADMIN_PASSWORD": "admin-from-file",
        "GUANJIA_AMQP_URL": "amqp://svc:pw@broker:5672/%2F",
        "GUANJIA_DATABASE_URL": "postgresql+psycopg://svc:pw@db/guanjia_{service}",
        "GUANJIA_SMS_TENCENT_SECRET_KEY": "tencent-secret-from-file",
        "GUANJIA_SMS_ALIYUN_ACCESS_KEY_SECRET": "aliyun-secret-from-file",
    }.items():
        path = tmp_path / name
        path.write_text(value + "\n")
        files[f"{name}_FILE"] = str(path)
    settings = config.from_env("notifications", files)
    assert settings.pii_key == "pii-key-from-file"
    assert settings.service_key.startswith("c2Vyd")
    assert gateway_config.from_env(settings.env).admin_password == "admin-from-file"
    assert settings.amqp_url == "amqp://svc:pw@broker:5672/%2F" and not settings.embedded
    assert settings.database_url == "postgresql+psycopg://svc:pw@db/guanjia_notifications"
    sms_env = config.with_secret_files(settings.env, "GUANJIA_SMS_")  # what notifications reads its keys from
    assert sms_env["GUANJIA_SMS_TENCENT_SECRET_KEY"] == "tencent-secret-from-file"
    assert sms_env["GUANJIA_SMS_ALIYUN_ACCESS_KEY_SECRET"] == "aliyun-secret-from-file"
    assert not any(key.endswith("_FILE") for key in sms_env)


def test_an_unreadable_secret_file_is_named():
    with pytest.raises(config.ConfigError) as caught:
        config.from_env(
            "tickets", {**DISTRIBUTED, "GUANJIA_SERVICE_KEY": "k", "GUANJIA_PII_KEY_FILE": "/nonexistent/pii"}
        )
    assert caught.value.problems[0] == "GUANJIA_PII_KEY_FILE: cannot read /nonexistent/pii (No such file or directory)"


def test_every_bad_value_is_named_with_what_it_accepts_at_once(tmp_path):
    env = {
        "GUANJIA_VAR_DIR": str(tmp_path),
        "GUANJIA_TOKEN_TTL_SECONDS": "10m",
        "GUANJIA_MAX_BODY_BYTES": "-5",
        "GUANJIA_LOG_LEVEL": "chatty",
        "GUANJIA_TIMEZONE": "Mars/Olympus",
        "GUANJIA_RETRY_DELAYS_MS": "1s,5s",
        "GUANJIA_RATE_LIMITS": "login=many",
    }
    with pytest.raises(config.ConfigError) as caught:
        config.from_env("gateway", env)
    assert caught.value.problems == [
        "GUANJIA_TIMEZONE: an IANA time zone such as Asia/Shanghai (got 'Mars/Olympus')",
        "GUANJIA_TOKEN_TTL_SECONDS: a whole number of seconds (got '10m')",
        "GUANJIA_MAX_BODY_BYTES: a whole number of bytes, at least 1 (got '-5')",
        "GUANJIA_RETRY_DELAYS_MS: comma-separated whole milliseconds such as 1000,5000 (got '1s,5s')",
        "GUANJIA_LOG_LEVEL: one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got 'chatty')",
    ]
    assert isinstance(caught.value, RuntimeError)
    # The rate limits are the gateway's own settings: its config names a bad one the same way.
    with pytest.raises(config.ConfigError) as caught:
        gateway_config.from_env(env)
    assert caught.value.problems == [
        "GUANJIA_RATE_LIMITS: name=count/seconds items such as login=20/60 (got 'login=many')",
    ]


def test_the_log_level_is_info_by_default(tmp_path):
    assert config.from_env("tickets", {"GUANJIA_VAR_DIR": str(tmp_path)}).log_level == "INFO"
    assert (
        config.from_env("tickets", {"GUANJIA_VAR_DIR": str(tmp_path), "GUANJIA_LOG_LEVEL": "debug"}).log_level
        == "DEBUG"
    )


def test_config_check_names_every_missing_setting_of_a_distributed_instance(monkeypatch, capsys, tmp_path):
    for key in [k for k in __import__("os").environ if k.startswith("GUANJIA_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("GUANJIA_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("GUANJIA_AMQP_URL", DISTRIBUTED["GUANJIA_AMQP_URL"])
    monkeypatch.setenv("GUANJIA_TOKEN_TTL_SECONDS", "10m")
    monkeypatch.setenv("GUANJIA_SMS_PROVIDER", "pigeon")
    assert main(["config", "check"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "GUANJIA_TOKEN_TTL_SECONDS: a whole number of seconds (got '10m')" in out
    assert "GUANJIA_SERVICE_KEY must be set outside embedded mode (or GUANJIA_SERVICE_KEY_FILE)" in out
    assert any(line.startswith("GUANJIA_JWT_PRIVATE_KEY must be set for the gateway") for line in out)
    assert "GUANJIA_PII_KEY must be set outside embedded mode (or GUANJIA_PII_KEY_FILE)" in out
    assert len(out) == len(set(out)), "each problem once, not once per service"

    monkeypatch.setenv("GUANJIA_TOKEN_TTL_SECONDS", "600")
    monkeypatch.setenv("GUANJIA_SERVICE_KEY", "c2VydmljZS1rZXktZnJvbS1hLWZpbGUtMzItYnl0ZXM")
    monkeypatch.setenv("GUANJIA_JWT_PRIVATE_KEY", "c2VydmljZS1rZXktZnJvbS1hLWZpbGUtMzItYnl0ZXM")
    monkeypatch.setenv("GUANJIA_PII_KEY", "pii")
    assert main(["config", "check"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "unknown SMS provider 'pigeon'; known: console, aliyun, tencent, twilio"
    ]
    monkeypatch.delenv("GUANJIA_SMS_PROVIDER")
    assert main(["config", "check"]) == 0
    assert capsys.readouterr().out.startswith("configuration ok (distributed")


def test_a_bad_value_or_service_name_is_one_line_not_a_traceback(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("GUANJIA_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("GUANJIA_TOKEN_TTL_SECONDS", "10m")
    assert main(["migrate", "tickets"]) == 2
    assert (
        capsys.readouterr().err
        == "configuration error:\n  GUANJIA_TOKEN_TTL_SECONDS: a whole number of seconds (got '10m')\n"
    )
    monkeypatch.delenv("GUANJIA_TOKEN_TTL_SECONDS")
    assert main(["worker", "ticket"]) == 2
    assert capsys.readouterr().err == (
        "guanjia worker: unknown service 'ticket'; one of: residents, tickets, billing, notifications, community, gateway, workbench, staff\n"
    )


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("guanjia 0.")
