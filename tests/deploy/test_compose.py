"""The deployment files agree with the code: docker-compose.yml, the Dockerfiles, gunicorn, PostgreSQL, RabbitMQ.

No Docker engine is needed: the compose file is checked against the Compose Specification schema
(vendored in check-jsonschema, so it works offline) and by reading it; the healthcheck commands are
run for real against the local servers and against a stub HTTP server.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import re
import runpy
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import gunicorn.config
import pytest
import yaml

from guanjia import bus
from guanjia.config import SERVICE_PORTS, ConfigError, Settings, from_env
from workbench import config as workbench_config

sys.path.insert(0, str(Path(__file__).parent))
from secret_env import check_no_secret_in_environment  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DEFINITIONS_FILE = ROOT / "deploy" / "rabbitmq" / "definitions.json"
DOCKERFILE = ROOT / "Dockerfile"
GUNICORN_CONF = ROOT / "libs" / "guanjia" / "guanjia" / "gunicorn_conf.py"
COMPOSE_JWT_KEY = "JNBTdRhaTMsOk0J4rn21Ae6go1rldDYzE2a7FPyLmrg"
COMPOSE_SERVICE_KEY = "BGbuwWpylEDi1vL3zC-TaMddydvdYydTIlBkW_Dbno0"

SERVICES = ["residents", "tickets", "billing", "notifications", "gateway", "community", "staff"]
WITH_WORKER = ["residents", "tickets", "billing", "notifications", "community", "staff"]
# Web only: the workbench (people's screens) has a database but no worker, no broker user and no keys.
WEB_ONLY = ["workbench"]
INFRA = ["postgres", "rabbitmq", "redis"]
SECRETS_SCRIPT = ROOT / "scripts" / "compose_secrets.py"


def _secrets_script():
    spec = importlib.util.spec_from_file_location("compose_secrets", SECRETS_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def _services() -> dict:
    return _compose()["services"]


def _interpolate(value: str, given: dict) -> str:
    """Compose-style ${VAR}, ${VAR:-default}, ${VAR:?error}; `given` plays the operator's environment."""

    def sub(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2) or "", match.group(3) or ""
        if given.get(name):
            return given[name]
        if op.endswith("?"):
            raise KeyError(f"{name} is required: {arg}")
        return arg if op.endswith("-") else ""

    return re.sub(r"\$\{(\w+)(:?[-?])?([^}]*)\}", sub, str(value))


def _env(service: dict, secrets_dir: Path, given: dict | None = None) -> dict[str, str]:
    """The container's environment as Compose builds it, with /run/secrets/<name> mapped to the files of
    `secrets_dir` (what `make secrets` wrote) as the top-level `secrets:` names them."""
    env = service.get("environment") or {}
    assert isinstance(env, dict), "environment must be a mapping (merged from x-guanjia-env)"
    env = {key: _interpolate(value, given or {}) for key, value in env.items()}
    top = _compose()["secrets"]
    mounted = service.get("secrets") or []
    for key, value in env.items():
        if key.endswith("_FILE"):
            name = value.removeprefix("/run/secrets/")
            assert value == f"/run/secrets/{name}" and name in mounted, f"{key}={value} is not a mounted secret"
            env[key] = str(secrets_dir / Path(top[name]["file"]).name)
    return env


@pytest.fixture(scope="module")
def secrets_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("compose") / "secrets"
    _secrets_script().write_secrets(
        directory,
        env={"GUANJIA_JWT_PRIVATE_KEY": COMPOSE_JWT_KEY, "GUANJIA_SERVICE_KEY": COMPOSE_SERVICE_KEY},
    )
    return directory


def _own_service(compose_name: str) -> str:
    return compose_name.removesuffix("-migrate").removesuffix("-worker")


# --- docker-compose.yml ----------------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_specification():
    check = Path(sys.executable).parent / "check-jsonschema"
    assert check.exists(), f"check-jsonschema is not installed next to {sys.executable} (requirements/dev.in)"
    result = subprocess.run(
        [str(check), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_a_migration_a_web_process_and_a_worker_per_service():
    expected = set(INFRA)
    expected |= {f"{name}-migrate" for name in SERVICES} | set(SERVICES) | {f"{name}-worker" for name in WITH_WORKER}
    expected |= {f"{name}-migrate" for name in WEB_ONLY} | set(WEB_ONLY)
    assert set(_services()) == expected

    for name, service in _services().items():
        if name in INFRA:
            continue
        own = _own_service(name)
        assert service["build"] == {"context": ".", "args": {"SERVICE": own}}, name
        assert service["image"].startswith(f"guanjia/{own}:"), name
        if name.endswith("-migrate"):
            assert service["command"] == ["guanjia", "migrate", own]
        elif name.endswith("-worker"):
            assert service["command"] == ["guanjia", "worker", own]
        else:
            assert "command" not in service, "web processes run the image's gunicorn CMD"


def test_the_notifications_worker_runs_two_replicas_and_the_others_one():
    replicas = {name: (s.get("deploy") or {}).get("replicas", 1) for name, s in _services().items()}
    assert replicas["notifications-worker"] == 2
    assert {name for name, count in replicas.items() if count != 1} == {"notifications-worker"}


def test_every_long_running_service_has_a_healthcheck_and_migrations_are_one_shot():
    for name, service in _services().items():
        if name.endswith("-migrate"):
            assert service.get("restart") == "no", f"{name} must run once"
            assert "healthcheck" not in service, f"{name} is a one-shot job; others wait for it to complete"
            continue
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
        assert service.get("restart") == "unless-stopped", name


def test_web_healthchecks_probe_readiness_on_the_service_port():
    services = _services()
    for name in SERVICES + WEB_ONLY:
        test = services[name]["healthcheck"]["test"]
        assert f"http://127.0.0.1:{SERVICE_PORTS[name]}/readyz" in " ".join(test), name


def test_dependencies_wait_for_health_or_for_the_migration_to_complete():
    services = _services()
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        for target, spec in depends.items():
            assert target in services, f"{name} depends on unknown {target}"
            condition = spec.get("condition")
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target}'s health, which is never checked"
            else:
                assert condition == "service_completed_successfully", f"{name} -> {target}: {condition}"
                assert target.endswith("-migrate"), f"{name} waits for {target} to exit"
        if name in INFRA:
            continue
        needed = ("postgres",) if _own_service(name) in WEB_ONLY else ("postgres", "rabbitmq")
        for infra in needed:
            assert depends.get(infra) == {"condition": "service_healthy"}, f"{name} must wait for {infra}"
        if name == "gateway":
            assert depends.get("redis") == {"condition": "service_healthy"}, "the gateway counts rate limits in redis"
        if not name.endswith("-migrate"):
            own = _own_service(name)
            assert depends.get(f"{own}-migrate") == {"condition": "service_completed_successfully"}, name
    for name in WITH_WORKER:
        assert services["gateway"]["depends_on"][name] == {"condition": "service_healthy"}


def test_only_the_gateway_is_published_besides_the_broker_on_localhost():
    services = _services()
    assert services["gateway"]["ports"] == ["8000:8000"]
    for port in services["rabbitmq"].get("ports", []):
        assert port.startswith("127.0.0.1:"), "the broker is reachable from this host only"
    for name, service in services.items():
        if name not in ("gateway", "rabbitmq"):
            assert "ports" not in service, f"{name} is reached through the gateway"


def test_every_guanjia_container_gets_a_complete_distributed_configuration(secrets_dir):
    services = _services()
    for name, service in services.items():
        if name in INFRA:
            continue
        own = _own_service(name)
        env = _env(service, secrets_dir)
        settings = from_env(own, env)
        if own in WEB_ONLY:
            db = urlparse(settings.database_url)
            assert (db.hostname, db.port, db.path) == ("postgres", 5432, f"/guanjia_{own}"), name
            assert (
                workbench_config.from_env(env).secret
                and urlparse(settings.service_urls["gateway"]).hostname == "gateway"
            )
            keys = {"GUANJIA_AMQP_URL", "GUANJIA_SERVICE_KEY", "GUANJIA_PII_KEY", "GUANJIA_JWT_PRIVATE_KEY"}
            held = (keys | {f"{key}_FILE" for key in keys}) & set(env)
            assert not held, f"{name} needs none of {held}"
            if name in WEB_ONLY:
                assert env["PORT"] == str(SERVICE_PORTS[name]), f"{name} listens on its own port"
            continue

        assert not settings.embedded, f"{name} must run on RabbitMQ, not memory://"
        amqp = urlparse(settings.amqp_url)
        assert (amqp.scheme, amqp.hostname, amqp.port) == ("amqp", "rabbitmq", 5672), name
        db = urlparse(settings.database_url)
        assert (db.hostname, db.port, db.path) == ("postgres", 5432, f"/guanjia_{own}"), name
        assert settings.service_key == COMPOSE_SERVICE_KEY
        # Only the gateway holds the key that signs people's tokens.
        assert settings.jwt_private_key == (COMPOSE_JWT_KEY if own == "gateway" else "")
        for other, port in SERVICE_PORTS.items():
            url = urlparse(settings.service_urls[other])
            assert (url.hostname, url.port) == (other, port), f"{name}: GUANJIA_{other.upper()}_URL"
            assert other in services
        if name in SERVICES:
            assert env["PORT"] == str(SERVICE_PORTS[name]), f"{name} listens on its own port"


def test_no_secret_is_passed_to_a_container_as_an_environment_variable(secrets_dir):
    for name, service in _services().items():
        env = service.get("environment") or {}
        check_no_secret_in_environment(name, env)
        files = {key for key in env if key.endswith("_FILE")}
        if name in INFRA:
            assert files <= {"POSTGRES_PASSWORD_FILE"}, name
            continue
        if _own_service(name) in WEB_ONLY:
            # Its sessions database and its own secret: no broker, none of the keys.
            assert files == {"GUANJIA_DATABASE_URL_FILE", "GUANJIA_WORKBENCH_SECRET_FILE"}, name
            _env(service, secrets_dir)
            continue
        expected = {
            "GUANJIA_SERVICE_KEY_FILE",
            "GUANJIA_PII_KEY_FILE",
            "GUANJIA_DATABASE_URL_FILE",
            "GUANJIA_AMQP_URL_FILE",
        }
        if _own_service(name) == "gateway":
            expected |= {"GUANJIA_JWT_PRIVATE_KEY_FILE", "GUANJIA_ADMIN_PASSWORD_FILE", "GUANJIA_METRICS_TOKEN_FILE"}
        if _own_service(name) == "notifications":  # its providers' keys: SMS, the WeChat account, the SMTP relay
            expected |= NOTIFICATIONS_FILES
        assert files == expected, f"{name}: {files ^ expected}"
        _env(service, secrets_dir)  # every _FILE names a secret the service mounts
    assert _services()["postgres"]["secrets"] == ["postgres_password"]
    # The files stay on this host: out of git and out of every image's build context.
    for top in _compose()["secrets"].values():
        assert top["file"].startswith("./secrets/"), top
    assert "/secrets/" in (ROOT / ".gitignore").read_text().splitlines()
    assert "secrets" in (ROOT / ".dockerignore").read_text().splitlines()


NOTIFICATIONS_FILES = {
    f"GUANJIA_{key}_FILE"
    for key in (
        "SMS_ALIYUN_ACCESS_KEY_ID",
        "SMS_ALIYUN_ACCESS_KEY_SECRET",
        "SMS_ALIYUN_CALLBACK_TOKEN",
        "SMS_TENCENT_SECRET_ID",
        "SMS_TENCENT_SECRET_KEY",
        "SMS_TENCENT_CALLBACK_TOKEN",
        "SMS_TWILIO_ACCOUNT_SID",
        "SMS_TWILIO_AUTH_TOKEN",
        "WECHAT_APP_SECRET",
        "WECHAT_CALLBACK_TOKEN",
        "SMTP_PASSWORD",
    )
}


def test_notifications_reads_its_providers_keys_from_the_files_make_secrets_writes(tmp_path):
    """Empty by default (SMS on the console, WeChat and reports off); given in the environment, they reach the
    settings through the mounted files."""
    from notifications import config as notifications_config

    given = {"GUANJIA_WECHAT_APP_SECRET": "wx-secret", "GUANJIA_SMTP_PASSWORD": "mail-pw"}
    directory = tmp_path / "secrets"
    _secrets_script().write_secrets(
        directory, env={"GUANJIA_SERVICE_KEY": COMPOSE_SERVICE_KEY, "GUANJIA_JWT_PRIVATE_KEY": COMPOSE_JWT_KEY, **given}
    )
    for name in ("notifications", "notifications-worker", "notifications-migrate"):
        env = _env(_services()[name], directory, {"GUANJIA_WECHAT_APP_ID": "wx123", "GUANJIA_SMTP_HOST": "smtp"})
        wechat = notifications_config.wechat_from_env(env=env)
        assert (wechat.app_id, wechat.app_secret, wechat.callback_token) == ("wx123", "wx-secret", ""), name
        assert wechat.enabled, name
        smtp = notifications_config.smtp_from_env(env=env)
        assert (smtp.host, smtp.password) == ("smtp", "mail-pw"), name
        sms = notifications_config.from_env(env=env)
        assert sms.provider == "console" and not sms.aliyun.access_key_secret, name
    empty = _env(_services()["notifications-worker"], directory)
    assert not notifications_config.wechat_from_env(env=empty).enabled


def test_the_secret_check_catches_a_secret_in_the_environment():
    with pytest.raises(AssertionError, match="GUANJIA_PII_KEY"):
        check_no_secret_in_environment("x", {"GUANJIA_PII_KEY": "${GUANJIA_PII_KEY:?}"})
    with pytest.raises(AssertionError, match="GUANJIA_RESIDENTS_DATABASE_URL"):
        check_no_secret_in_environment("x", {"GUANJIA_RESIDENTS_DATABASE_URL": "postgresql://u@db/x"})
    with pytest.raises(AssertionError, match="carries a password"):
        check_no_secret_in_environment("x", {"GUANJIA_OTHER_URL": "amqp://user:pw@rabbitmq:5672/"})
    check_no_secret_in_environment("x", {"GUANJIA_PII_KEY_FILE": "/run/secrets/pii_key", "GUANJIA_CITY": "demo"})


def test_make_secrets_writes_every_mounted_file_once_and_takes_given_values(tmp_path):
    script = _secrets_script()
    directory = tmp_path / "secrets"
    first = script.write_secrets(directory, env={"POSTGRES_PASSWORD": "given-pg"})
    names = {Path(top["file"]).name for top in _compose()["secrets"].values()}
    assert names == set(script.SECRETS) == {p.name for p in directory.iterdir()}
    assert directory.stat().st_mode & 0o777 == 0o700
    for path in directory.iterdir():
        # Compose bind-mounts the file as it is: the services' uid 10001 must be able to read it.
        assert path.stat().st_mode & 0o777 == 0o644, path
    import base64

    for key in ("service-key", "jwt-private-key"):
        assert len(base64.urlsafe_b64decode(first[key] + "=")) == 32, "an Ed25519 seed is 32 bytes"
    assert first["database-url"] == "postgresql+psycopg://guanjia:given-pg@postgres:5432/guanjia_{service}"
    assert (directory / "postgres-password").read_text().strip() == "given-pg"
    # Re-running keeps every value (the PII key encrypts data at rest); the new environment is ignored.
    again = script.write_secrets(directory, env={"GUANJIA_PII_KEY": "other", "POSTGRES_PASSWORD": "other"})
    assert again == first
    other = script.write_secrets(tmp_path / "other")
    assert other["pii-key"] != first["pii-key"] and other["service-key"] != first["service-key"]
    # Runs with a bare python3 (no virtualenv), as `make secrets` does.
    result = subprocess.run(
        ["/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "python3", str(SECRETS_SCRIPT), str(tmp_path / "bare")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "bare" / "amqp-url").read_text().strip() == "amqp://{service}:{service}-dev@rabbitmq:5672//"


def test_a_missing_secret_file_is_a_config_error_naming_it(secrets_dir, tmp_path):
    service = _services()["residents"]
    env = _env(service, secrets_dir)
    env["GUANJIA_PII_KEY_FILE"] = str(tmp_path / "absent")
    with pytest.raises(ConfigError, match="GUANJIA_PII_KEY_FILE"):
        from_env("residents", env)


def test_web_healthcheck_fails_on_503_and_passes_on_200():
    status = {"code": 503}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(status["code"] if self.path == "/readyz" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        test = _services()["residents"]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"]
        code = test[3].replace("127.0.0.1:8001", f"127.0.0.1:{server.server_port}")
        assert subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30).returncode != 0
        status["code"] = 200
        assert subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30).returncode == 0
    finally:
        server.shutdown()
        server.server_close()


def test_worker_healthcheck_reaches_the_database_and_the_broker(postgres_server_url, amqp_server_url):
    test = _services()["tickets-worker"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    env = {
        "PATH": "/usr/bin:/bin",
        "GUANJIA_TICKETS_DATABASE_URL": postgres_server_url,
        "GUANJIA_AMQP_URL": amqp_server_url,
        "GUANJIA_SERVICE_KEY": COMPOSE_SERVICE_KEY,
        "GUANJIA_PII_KEY": "compose-test-pii-key",
    }
    ok = subprocess.run([sys.executable, "-c", test[3]], env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr

    dead_broker = {**env, "GUANJIA_AMQP_URL": "amqp://guest:guest@127.0.0.1:1//"}
    failed = subprocess.run([sys.executable, "-c", test[3]], env=dead_broker, capture_output=True, timeout=60)
    assert failed.returncode != 0


# --- Dockerfiles ----------------------------------------------------------------------------------


def _instructions(dockerfile: Path, args: dict[str, str]) -> list[tuple[str, str]]:
    """The Dockerfile's instructions as one build with these build args sees them (${ARG} substituted)."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text(encoding="utf-8"))
    text = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), text)
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


@pytest.mark.parametrize("name", SERVICES + WEB_ONLY)
def test_dockerfile_references_files_that_exist(name, monkeypatch):
    """The one Dockerfile, built for `name` (its SERVICE build arg), as docker-compose.yml builds it."""
    dockerfile = DOCKERFILE
    instructions = _instructions(dockerfile, {"SERVICE": name})
    assert ("ARG", "SERVICE") in instructions
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }

    copied = {}
    for keyword, args in instructions:
        if keyword in ("COPY", "ADD"):
            parts = args.split()
            assert not any(p.startswith("--from") for p in parts), "single-stage build from the repo root"
            *sources, dest = parts
            for source in sources:
                assert (ROOT / source).exists(), f"{dockerfile}: {source} does not exist"
                assert source.rstrip("/").split("/")[0] not in ignored, f"{source} is excluded by .dockerignore"
                copied[("/app/" + dest).replace("/app//", "/")] = source

    workdir = [args for keyword, args in instructions if keyword == "WORKDIR"]
    assert workdir == ["/app"]

    runs = " ; ".join(args for keyword, args in instructions if keyword == "RUN")
    for match in re.finditer(r"pip install ([^&;]+)", runs):
        assert "-c requirements/constraints.txt" in match.group(1), f"unpinned install: {match.group(0)}"
    for path in re.findall(r"-e (\S+)", runs):
        assert (ROOT / path / "pyproject.toml").exists(), f"{path} is not a package"
        assert path in copied.values() or path + "/" in copied.values(), f"{path} is installed but not copied"
    assert f"-e services/{name}" in runs
    assert (ROOT / "services" / name / "migrations").is_dir(), "guanjia migrate needs the migrations in the image"

    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the image runs as a non-root user"

    env = " ".join(args for keyword, args in instructions if keyword == "ENV")
    assert f"GUANJIA_SERVICE={name}" in env

    cmd = json.loads(next(args for keyword, args in instructions if keyword == "CMD"))
    assert cmd == ["gunicorn", "-c", "python:guanjia.gunicorn_conf"]
    # The image's environment alone makes gunicorn serve the service's app on the service's own port.
    settings = _gunicorn_settings(monkeypatch, GUANJIA_SERVICE=name)
    assert settings["wsgi_app"] == f"{name}.wsgi:app"
    assert settings["bind"] == f"0.0.0.0:{SERVICE_PORTS[name]}"
    wsgi = ROOT / "services" / name / name / "wsgi.py"
    assert wsgi.exists(), f"{wsgi} (gunicorn {name}.wsgi:app)"
    assert re.search(r"^app\s*=", wsgi.read_text(encoding="utf-8"), re.M), f"{wsgi} defines no `app`"


# --- gunicorn -------------------------------------------------------------------------------------


def _gunicorn_settings(monkeypatch, **env) -> dict:
    for key in ("GUANJIA_BIND", "PORT", "GUANJIA_PORT", "GUANJIA_WEB_WORKERS", "GUANJIA_WEB_THREADS", "GUANJIA_LOG_LEVEL",
                "GUANJIA_SERVICE"):  # fmt: skip
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    namespace = runpy.run_path(str(GUNICORN_CONF))
    return {k: v for k, v in namespace.items() if not k.startswith("_") and k != "os"}


def test_gunicorn_config_uses_only_known_settings(monkeypatch):
    known = {setting.name for setting in gunicorn.config.KNOWN_SETTINGS}
    settings = _gunicorn_settings(monkeypatch)
    assert set(settings) <= known, f"unknown gunicorn settings: {set(settings) - known}"


def test_gunicorn_binds_port_and_workers_from_the_environment(monkeypatch):
    settings = _gunicorn_settings(monkeypatch, PORT="8003")
    assert settings["bind"] == "0.0.0.0:8003"
    assert settings["workers"] == 2
    assert (settings["worker_class"], settings["threads"], settings["keepalive"]) == ("gthread", 4, 30)
    assert settings["preload_app"] is False, "connections must not be opened before the fork"
    assert settings["accesslog"] is None

    settings = _gunicorn_settings(monkeypatch, GUANJIA_BIND="127.0.0.1:9000", PORT="8003", GUANJIA_WEB_WORKERS="5")
    assert (settings["bind"], settings["workers"]) == ("127.0.0.1:9000", 5)


def test_the_gateway_runs_more_threads_than_a_service(monkeypatch):
    """A page holds several gateway threads at once (the browser's request, the workbench's calls, the services'
    staff-name calls back): the gateway gets 16, a service 4 (each may hold a database connection)."""
    assert _gunicorn_settings(monkeypatch, GUANJIA_SERVICE="gateway")["threads"] == 16
    assert _gunicorn_settings(monkeypatch, GUANJIA_SERVICE="billing")["threads"] == 4
    assert _gunicorn_settings(monkeypatch, GUANJIA_SERVICE="gateway", GUANJIA_WEB_THREADS="8")["threads"] == 8


def test_the_distributed_stack_runs_gunicorn_with_the_same_configuration(tmp_path):
    """`guanjia run --distributed` adds only its per-process flags to guanjia.gunicorn_conf (no second config)."""
    from guanjia.stack import DistributedStack

    stack = DistributedStack.__new__(DistributedStack)  # no environment, keys or specs needed for one argv
    stack.web_workers = 3
    launched = []
    stack._spawn = lambda name, argv, env: launched.append((argv, env))
    stack._spawn_web("tickets", 0, "http://127.0.0.1:9002", tmp_path, tmp_path)
    ((argv, env),) = launched
    assert env["GUANJIA_SERVICE"] == "tickets"  # as the images set it (the gateway's thread count follows from it)
    assert argv[argv.index("-c") + 1] == "python:guanjia.gunicorn_conf"
    assert not {"--threads", "--keep-alive", "--worker-class", "--timeout"} & set(argv), argv
    assert argv[argv.index("--workers") + 1] == "3" and argv[argv.index("--bind") + 1] == "127.0.0.1:9002"


# --- PostgreSQL and RabbitMQ ----------------------------------------------------------------------


def test_postgres_init_creates_one_database_per_service():
    sql = (ROOT / "deploy" / "postgres" / "init.sql").read_text(encoding="utf-8")
    assert set(re.findall(r"CREATE DATABASE (\w+)", sql)) == {f"guanjia_{name}" for name in SERVICES + WEB_ONLY}
    volumes = _services()["postgres"]["volumes"]
    assert any(v.startswith("./deploy/postgres/init.sql:/docker-entrypoint-initdb.d/") for v in volumes)


def _definitions() -> dict:
    return json.loads(DEFINITIONS_FILE.read_text(encoding="utf-8"))


def _one(items: list[dict], **match) -> dict:
    found = [item for item in items if all(item.get(k) == v for k, v in match.items())]
    assert len(found) == 1, f"expected one of {match}, found {len(found)}"
    return found[0]


def test_rabbitmq_definitions_declare_the_same_topology_as_the_code():
    definitions = _definitions()
    settings = Settings(service="residents", database_url="sqlite://")
    expected_exchange = bus.events_exchange(settings)
    ae_name = expected_exchange.arguments["alternate-exchange"]

    exchange = _one(definitions["exchanges"], name=settings.exchange, vhost="/")
    assert (exchange["type"], exchange["durable"], exchange["auto_delete"]) == ("topic", True, False)
    # RabbitMQ refuses a redeclaration with another alternate-exchange: the code and the file must agree.
    assert exchange["arguments"] == expected_exchange.arguments

    ae = _one(definitions["exchanges"], name=ae_name, vhost="/")
    assert (ae["type"], ae["durable"], ae["auto_delete"]) == ("fanout", True, False)

    queue = _one(definitions["queues"], name=bus.UNROUTED_QUEUE, vhost="/")
    assert queue["durable"] is True and queue["auto_delete"] is False
    assert queue["arguments"] == {"x-max-length": bus.UNROUTED_MAX_LENGTH, "x-overflow": "drop-head"}
    _one(definitions["bindings"], source=ae_name, destination=bus.UNROUTED_QUEUE, destination_type="queue")


def test_rabbitmq_users_have_hashes_and_the_integrator_can_only_read_guanjia_events(secrets_dir):
    definitions = _definitions()
    for user in definitions["users"]:
        assert user["password_hash"] and "password" not in user
        assert user["hashing_algorithm"] == "rabbit_password_hashing_sha256"

    users = {user["name"] for user in definitions["users"]}
    for name, service in _services().items():
        if name in INFRA:
            continue
        own = _own_service(name)
        if own in WEB_ONLY:
            assert own not in users, f"{own} talks to no broker: it needs no broker user"
            continue
        amqp = urlparse(from_env(own, _env(service, secrets_dir)).amqp_url)
        assert amqp.username == own, f"{name} must use its own broker user"
        assert own in users
        # Each service may use guanjia.events and its own queues, nobody else's.
        perms = _one(definitions["permissions"], user=own, vhost="/")
        for kind in ("configure", "write", "read"):
            assert re.search(perms[kind], f"{own}.events") and re.search(perms[kind], f"{own}.events.dead")
            other = "tickets" if own != "tickets" else "billing"
            assert not re.search(perms[kind], f"{other}.events"), f"{own} may {kind} {other}.events"
        assert re.search(perms["write"], "guanjia.events")

    integrator = _one(definitions["permissions"], user="integrator", vhost="/")
    ours = ["guanjia.events", "guanjia.events.unrouted-ae", "guanjia.unrouted", "residents.events", "amq.default"]
    for resource in ours:
        # RabbitMQ matches permission patterns unanchored, like re.search.
        assert not re.search(integrator["write"], resource), f"integrator may write to {resource}"
        assert not re.search(integrator["configure"], resource), f"integrator may configure {resource}"
    assert re.search(integrator["read"], "guanjia.events"), "integrator must be able to bind to guanjia.events"
    assert not re.search(integrator["read"], "tickets.events"), "integrator must not consume a service's queue"
    assert re.search(integrator["write"], "integrator.tickets") and re.search(integrator["configure"], "integrator.x")


def test_rabbitmq_conf_loads_the_mounted_definitions():
    conf = dict(
        line.split("=", 1)
        for line in (ROOT / "deploy" / "rabbitmq" / "rabbitmq.conf").read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    )
    conf = {k.strip(): v.strip() for k, v in conf.items()}
    assert conf["definitions.import_backend"] == "local_filesystem"
    volumes = _services()["rabbitmq"]["volumes"]
    assert f"./deploy/rabbitmq/definitions.json:{conf['definitions.local.path']}:ro" in volumes
    assert any(v.startswith("./deploy/rabbitmq/rabbitmq.conf:/etc/rabbitmq/conf.d/") for v in volumes)
