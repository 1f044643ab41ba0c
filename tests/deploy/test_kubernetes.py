"""deploy/k8s renders and validates offline: kustomize (the kubectl wheel from requirements/dev.in) renders
every city overlay, core objects validate against the Kubernetes OpenAPI schemas (kubernetes-validate), the
operators' custom resources against the schemas in crd_schemas.py, yamllint passes, and the manifests agree
with the code: ports, probes, per-service credentials, the broker definitions, the billing policy schema.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from guanjia.config import SERVICE_PORTS

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
CITIES = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
SERVICES = ["residents", "tickets", "billing", "notifications", "gateway", "community", "staff"]
WITH_WORKER = ["residents", "tickets", "billing", "notifications", "community", "staff"]
# Web only: the workbench (people's screens) has a database but no worker, no broker user and no keys.
WEB_ONLY = ["workbench"]
KUBERNETES_VERSION = "1.32"

sys.path.insert(0, str(Path(__file__).parent))
from crd_schemas import CUSTOM_RESOURCE_SCHEMAS  # noqa: E402
from secret_env import check_no_secret_in_environment  # noqa: E402

SECRETS_MOUNT = "/var/run/secrets/guanjia"


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    assert found, f"{name} is not installed: `make venv` installs it from requirements/dev.in"
    return found


@cache
def render(city: str) -> tuple[dict, ...]:
    result = subprocess.run(
        [_tool("kubectl"), "kustomize", str(K8S / "overlays" / city)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def _of(objects, kind: str, name: str | None = None) -> list[dict]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def _one(objects, kind: str, name: str) -> dict:
    found = _of(objects, kind, name)
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def test_every_event_service_is_the_one_event_service_component_with_its_own_values():
    """No copy of the shared shape: each service with a worker gives the component only its name and port."""
    base = K8S / "base"
    assert (base / "event-service" / "service.yaml").exists(), "the template of the shared shape"
    for name in WITH_WORKER:
        kustomization = yaml.safe_load((base / name / "kustomization.yaml").read_text())
        assert kustomization["components"] == ["../event-service"], name
        values = yaml.safe_load((base / name / "values.yaml").read_text())
        assert values["kind"] == "ServiceValues", name
        assert values["metadata"]["annotations"]["config.kubernetes.io/local-config"] == "true", "never rendered"
        expected = {
            "name": name,
            "prefix": name.upper(),
            "port": SERVICE_PORTS[name],
            "portText": str(SERVICE_PORTS[name]),
        }
        assert {k: values[k] for k in expected} == expected, name
        assert not (base / f"{name}.yaml").exists(), f"{name}.yaml would be a second copy of the shape"


def test_there_are_at_least_two_example_cities():
    assert len(CITIES) >= 2, CITIES


@pytest.mark.parametrize("city", CITIES)
def test_overlay_renders_into_its_own_namespace_with_the_city_settings(city):
    objects = render(city)
    namespace = f"guanjia-{city}"
    assert _one(objects, "Namespace", namespace)
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == namespace, f"{obj['kind']}/{obj['metadata']['name']}"
    config = _of(objects, "ConfigMap")
    config = next(c for c in config if c["metadata"]["name"].startswith("guanjia-config"))
    assert config["data"]["GUANJIA_CITY"] == city
    for key in ("GUANJIA_TIMEZONE", "GUANJIA_SMS_PROVIDER", "GUANJIA_SMS_SIGNATURE"):
        assert config["data"][key], key
    for name, port in SERVICE_PORTS.items():
        assert config["data"][f"GUANJIA_{name.upper()}_URL"] == f"http://{name}:{port}"


@pytest.mark.parametrize("city", CITIES)
def test_core_objects_validate_against_the_kubernetes_schemas(city):
    checked = 0
    for obj in render(city):
        if obj["kind"] in CUSTOM_RESOURCE_SCHEMAS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message} at {list(exc.path)}")
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("city", CITIES)
def test_custom_resources_validate_against_their_crd_schemas(city):
    kinds = set()
    for obj in render(city):
        key = obj["kind"]
        if key not in CUSTOM_RESOURCE_SCHEMAS and "." in obj["apiVersion"].split("/")[0]:
            pytest.fail(f"custom resource {obj['apiVersion']} {key} has no schema in crd_schemas.py")
        if key not in CUSTOM_RESOURCE_SCHEMAS:
            continue
        api_version, schema = CUSTOM_RESOURCE_SCHEMAS[key]
        assert obj["apiVersion"] == api_version, key
        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(obj["spec"]), key=str)
        assert not errors, f"{key}/{obj['metadata']['name']}: " + "; ".join(
            f"{list(e.path)}: {e.message}" for e in errors
        )
        kinds.add(key)
    expected = {"RabbitmqCluster", "Exchange", "Queue", "Binding", "Policy", "User", "Permission"}
    assert kinds >= expected | {"Cluster", "Database", "ScheduledBackup"}


def test_the_crd_schemas_catch_mistakes():
    _, queue = CUSTOM_RESOURCE_SCHEMAS["Queue"]
    assert list(jsonschema.Draft202012Validator(queue).iter_errors({"name": "q", "durabel": True}))
    _, policy = CUSTOM_RESOURCE_SCHEMAS["Policy"]
    bad = {"name": "p", "pattern": ".", "applyTo": "everything", "definition": {}, "rabbitmqClusterReference": {}}
    assert list(jsonschema.Draft202012Validator(policy).iter_errors(bad))


def _containers(deployment: dict) -> list[dict]:
    spec = deployment["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


@pytest.mark.parametrize("city", CITIES)
def test_every_service_has_a_web_deployment_a_worker_and_a_migration_job(city):
    objects = render(city)
    for name in SERVICES + WEB_ONLY:
        web = _one(objects, "Deployment", name)
        container = web["spec"]["template"]["spec"]["containers"][0]
        port = SERVICE_PORTS[name]
        assert container["ports"] == [{"name": "http", "containerPort": port}]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        env = {e["name"]: e for e in container["env"]}
        assert env["PORT"]["value"] == str(port)
        assert env["PROMETHEUS_MULTIPROC_DIR"]["value"] in [m["mountPath"] for m in container["volumeMounts"]]
        service = _one(objects, "Service", name)
        assert service["spec"]["ports"][0]["port"] == port
        assert service["spec"]["selector"] == web["spec"]["selector"]["matchLabels"]
        job = _one(objects, "Job", f"{name}-migrate")
        assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["guanjia", "migrate", name]
        init = web["spec"]["template"]["spec"]["initContainers"]
        assert [c["command"] for c in init] == [["guanjia", "migrate", name]], "migrations run before a pod serves"
        if name in WITH_WORKER:
            worker = _one(objects, "Deployment", f"{name}-worker")
            assert worker["spec"]["template"]["spec"]["containers"][0]["command"] == ["guanjia", "worker", name]
        else:
            assert not _of(objects, "Deployment", f"{name}-worker")


@pytest.mark.parametrize("city", CITIES)
def test_every_container_is_non_root_read_only_and_bounded(city):
    for deployment in _of(render(city), "Deployment") + _of(render(city), "Job"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        for container in _containers(deployment):
            where = f"{deployment['metadata']['name']}/{container['name']}"
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), where


def _mounted_files(pod: dict, container: dict) -> dict[str, tuple[str, str]]:
    """Path of every secret file the container sees -> (Secret, key), from its read-only secret mounts."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    files = {}
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        assert "secret" not in volume, f"{mount['name']}: secrets come in the projected volume `secrets`"
        if "projected" not in volume:
            continue
        assert mount.get("readOnly") is True, f"{container['name']}: {mount['name']} must be mounted read-only"
        assert volume["projected"]["defaultMode"] == 0o400, mount["name"]
        for source in (s["secret"] for s in volume["projected"]["sources"]):
            assert not source.get("optional"), f"{source['name']}: a _FILE that may be missing is a start-up error"
            for item in source["items"]:
                files[f"{mount['mountPath']}/{item['path']}"] = (source["name"], item["key"])
    return files


@pytest.mark.parametrize("city", CITIES)
def test_each_service_uses_its_own_broker_user_and_database_role(city):
    objects = render(city)
    for name in SERVICES:
        for deployment in [_one(objects, "Deployment", name), _one(objects, "Job", f"{name}-migrate")]:
            pod = deployment["spec"]["template"]["spec"]
            for container in _containers(deployment):
                env = {e["name"]: e["value"] for e in container.get("env", [])}
                files = _mounted_files(pod, container)
                amqp = env[f"GUANJIA_{name.upper()}_AMQP_URL_FILE"]
                db = env[f"GUANJIA_{name.upper()}_DATABASE_URL_FILE"]
                assert files[amqp] == (f"{name}-amqp", "url"), container["name"]
                assert files[db] == (f"{name}-db", "url"), container["name"]
                secrets = {secret for secret, _ in files.values()}
                assert not any(s.endswith(("-amqp", "-db")) and not s.startswith(name) for s in secrets), secrets

    for name in WEB_ONLY:
        for deployment in [_one(objects, "Deployment", name), _one(objects, "Job", f"{name}-migrate")]:
            pod = deployment["spec"]["template"]["spec"]
            for container in _containers(deployment):
                env = {e["name"]: e["value"] for e in container.get("env", [])}
                files = _mounted_files(pod, container)
                assert files[env[f"GUANJIA_{name.upper()}_DATABASE_URL_FILE"]] == (f"{name}-db", "url")
                secrets = {secret for secret, _ in files.values()}
                assert not any(s.endswith("-amqp") for s in secrets) and f"{name}-db" in secrets, secrets
                keys = {key for secret, key in files.values() if secret == "guanjia-keys"}
                assert keys & {"service-key", "pii-key", "jwt-private-key"} == set(), f"{name} holds no key"


@pytest.mark.parametrize("city", CITIES)
def test_no_secret_reaches_a_container_as_an_environment_variable(city):
    objects = render(city)
    configs = {c["metadata"]["name"]: c.get("data", {}) for c in _of(objects, "ConfigMap")}
    for config_name, data in configs.items():
        check_no_secret_in_environment(f"ConfigMap/{config_name}", data)
    checked = 0
    for workload in _of(objects, "Deployment") + _of(objects, "Job"):
        pod = workload["spec"]["template"]["spec"]
        for container in _containers(workload):
            where = f"{workload['metadata']['name']}/{container['name']}"
            for source in container.get("envFrom", []):
                assert "secretRef" not in source, f"{where}: envFrom {source} puts a Secret in the environment"
            env = {}
            for item in container.get("env", []):
                assert "valueFrom" not in item, f"{where}: {item['name']} comes from {item['valueFrom']}"
                env[item["name"]] = item["value"]
            check_no_secret_in_environment(where, env)
            files = _mounted_files(pod, container)
            for key, value in env.items():
                if key.endswith("_FILE"):
                    assert value in files, f"{where}: {key}={value} is not a mounted secret file"
                    checked += 1
    assert checked, "no GUANJIA_*_FILE found"
    gateway = _one(objects, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0]
    gateway_env = {e["name"] for e in gateway["env"]}
    expected = {"GUANJIA_SERVICE_KEY_FILE", "GUANJIA_PII_KEY_FILE", "GUANJIA_JWT_PRIVATE_KEY_FILE"}
    assert expected | {"GUANJIA_ADMIN_PASSWORD_FILE", "GUANJIA_METRICS_TOKEN_FILE"} <= gateway_env
    billing = _one(objects, "Deployment", "billing")["spec"]["template"]["spec"]["containers"][0]
    assert "GUANJIA_BILLING_CALLBACK_SECRET_FILE" in {e["name"] for e in billing["env"]}
    sms = _one(objects, "Deployment", "notifications-worker")["spec"]["template"]["spec"]["containers"][0]
    assert "GUANJIA_SMS_ALIYUN_ACCESS_KEY_SECRET_FILE" in {e["name"] for e in sms["env"]}
    for name in ("GUANJIA_WECHAT_APP_SECRET_FILE", "GUANJIA_WECHAT_CALLBACK_TOKEN_FILE", "GUANJIA_SMTP_PASSWORD_FILE"):
        assert name in {e["name"] for e in sms["env"]}
    for name in WITH_WORKER:
        worker = _one(objects, "Deployment", f"{name}-worker")["spec"]["template"]["spec"]["containers"][0]
        assert "GUANJIA_JWT_PRIVATE_KEY_FILE" not in {e["name"] for e in worker["env"]}, "the gateway's key only"


def test_the_mounted_files_are_what_create_secrets_makes():
    """Every (Secret, key) a pod mounts is created by create-secrets.sh (the url keys by ensure_url)."""
    script = (K8S / "create-secrets.sh").read_text()
    for obj in render(CITIES[0]):
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        pod = obj["spec"]["template"]["spec"]
        for container in _containers(obj):
            for secret, key in _mounted_files(pod, container).values():
                if secret == "guanjia-keys":
                    assert f"--from-literal={key}=" in script, key
                elif secret.endswith(("-db", "-amqp")):
                    assert key == "url" and f'ensure_url "$service-{secret.rsplit("-", 1)[1]}"' in script
                elif secret == "notifications-sms":
                    assert key.startswith("GUANJIA_SMS_") and key.removeprefix("GUANJIA_SMS_") in script, key
                elif secret == "notifications-channels":
                    assert f"--from-literal={key}=" in script, key
                else:
                    assert f"create {secret} --from-literal={key}=" in script, (secret, key)


def test_every_secret_the_manifests_need_is_made_by_create_secrets_or_listed_as_external():
    script = (K8S / "create-secrets.sh").read_text()
    made = set(re.findall(r"^create ([\w-]+)", script, re.M))
    for service in SERVICES:
        made |= {f"{service}-amqp", f"{service}-db"} if '"$service-amqp"' in script else set()
    for service in WEB_ONLY:
        made |= {f"{service}-db"} if service in script and '"$service-db"' in script else set()
    external = set(re.findall(r"^  ([\w-]+)\s{2,}", script, re.M))
    needed = set()
    for obj in render(CITIES[0]):
        text = json.dumps(obj)
        needed |= set(re.findall(r'"secretKeyRef": \{"name": "([\w-]+)"', text))
        needed |= set(re.findall(r'"secretRef": \{"name": "([\w-]+)"', text))
        needed |= set(re.findall(r'"(?:passwordSecret|secret|importCredentialsSecret)": \{"name": "([\w-]+)"', text))
        needed |= set(re.findall(r'"accessKeyId": \{"name": "([\w-]+)"', text))
    assert needed, "no secret references found"
    assert needed <= made | external, f"not created or documented: {needed - made - external}"


@pytest.mark.parametrize("city", CITIES)
def test_broker_topology_and_users_match_the_compose_definitions(city):
    objects = render(city)
    definitions = json.loads((ROOT / "deploy" / "rabbitmq" / "definitions.json").read_text())
    exchanges = {e["spec"]["name"]: e["spec"] for e in _of(objects, "Exchange")}
    for exchange in definitions["exchanges"]:
        spec = exchanges[exchange["name"]]
        assert spec["type"] == exchange["type"] and spec.get("arguments", {}) == exchange["arguments"]
    queues = {q["spec"]["name"]: q["spec"] for q in _of(objects, "Queue")}
    for queue in definitions["queues"]:
        assert queues[queue["name"]].get("arguments", {}) == queue["arguments"]
    for service in WITH_WORKER:
        assert {f"{service}.events", f"{service}.events.dead"} <= set(queues)
        # The code declares these two without arguments: the operator must not declare them differently.
        assert "arguments" not in queues[f"{service}.events"]
    permissions = {p["spec"]["userReference"]["name"]: p["spec"]["permissions"] for p in _of(objects, "Permission")}
    users = {u["metadata"]["name"]: u["spec"] for u in _of(objects, "User")}
    for permission in definitions["permissions"]:
        if permission["user"] == "guanjia":
            continue
        assert permissions[permission["user"]] == {k: permission[k] for k in ("configure", "write", "read")}
        assert users[permission["user"]]["importCredentialsSecret"] == {"name": f"{permission['user']}-amqp"}
    assert set(users) == set(SERVICES) | {"integrator"}


@pytest.mark.parametrize("city", CITIES)
def test_postgres_has_one_database_and_role_per_service_and_backups(city):
    objects = render(city)
    cluster = _one(objects, "Cluster", "postgres")
    roles = {r["name"] for r in cluster["spec"]["managed"]["roles"]} | {cluster["spec"]["bootstrap"]["initdb"]["owner"]}
    assert roles == set(SERVICES) | set(WEB_ONLY)
    databases = {d["spec"]["name"]: d["spec"]["owner"] for d in _of(objects, "Database")}
    databases[cluster["spec"]["bootstrap"]["initdb"]["database"]] = cluster["spec"]["bootstrap"]["initdb"]["owner"]
    assert databases == {f"guanjia_{s}": s for s in SERVICES + WEB_ONLY}
    assert city in cluster["spec"]["backup"]["barmanObjectStore"]["destinationPath"]
    assert _one(objects, "ScheduledBackup", "postgres-nightly")["spec"]["cluster"] == {"name": "postgres"}


@pytest.mark.parametrize("city", CITIES)
def test_overlays_pin_image_tags_and_fee_defaults_fit_the_billing_policy(city):
    objects = render(city)
    for deployment in _of(objects, "Deployment"):
        for container in _containers(deployment):
            image = container["image"]
            assert ":" in image.rsplit("/", 1)[-1] and not image.endswith((":latest", ":dev")), image
    from billing.schemas import PolicyIn

    defaults = json.loads((K8S / "overlays" / city / "fee-defaults.json").read_text())
    PolicyIn().load(defaults)  # raises on an unknown field or a value out of range
    fee = next(c for c in _of(objects, "ConfigMap") if c["metadata"]["name"].startswith("fee-defaults"))
    assert json.loads(fee["data"]["fee-defaults.json"]) == defaults


def test_cities_differ_in_what_a_city_sets():
    configs = {
        city: next(c for c in _of(render(city), "ConfigMap") if c["metadata"]["name"].startswith("guanjia-config"))
        for city in CITIES
    }
    signatures = {configs[city]["data"]["GUANJIA_SMS_SIGNATURE"] for city in CITIES}
    assert len(signatures) == len(CITIES), "each city sends SMS under its own signature"


def test_yamllint_passes_on_the_deployment_files():
    result = subprocess.run(
        [_tool("yamllint"), "-f", "parsable", "-c", str(ROOT / ".yamllint.yaml"), "deploy", "docker-compose.yml"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("city", CITIES)
def test_every_container_reads_its_settings_from_the_mounted_files(city, tmp_path):
    """Mount the files as the kubelet would (each Secret key's value at its path) and read the settings."""
    from gateway import config as gateway_config
    from guanjia import config
    from notifications import config as notifications_config
    from workbench import config as workbench_config

    objects = render(city)
    configmap = next(c for c in _of(objects, "ConfigMap") if c["metadata"]["name"].startswith("guanjia-config"))
    for workload in _of(objects, "Deployment") + _of(objects, "Job"):
        service = workload["metadata"]["labels"].get("app.kubernetes.io/name")
        if service not in SERVICE_PORTS:
            continue
        pod = workload["spec"]["template"]["spec"]
        for container in _containers(workload):
            root = tmp_path / workload["metadata"]["name"] / container["name"]
            for path, (secret, key) in _mounted_files(pod, container).items():
                value = f"{secret}.{key}.value"
                if key == "url":
                    kind = "amqp" if secret.endswith("-amqp") else "postgresql+psycopg"
                    value = f"{kind}://{service}:pw@{secret}:5432/guanjia_{service}"
                local = root / path.lstrip("/")
                local.parent.mkdir(parents=True, exist_ok=True)
                local.write_text(value + "\n")  # a trailing newline (a value typed by hand) is ignored
            env = dict(configmap["data"])
            env.update({e["name"]: e["value"] for e in container["env"]})
            env = {k: str(root / v.lstrip("/")) if k.endswith("_FILE") else v for k, v in env.items()}
            settings = config.from_env(service, env)
            where = f"{workload['metadata']['name']}/{container['name']}"
            if service in WEB_ONLY:
                assert settings.database_url.endswith(f"@{service}-db:5432/guanjia_{service}"), where
                assert workbench_config.from_env(env).secret == "guanjia-keys.workbench-secret.value", where
                continue
            assert not settings.embedded and settings.amqp_url.startswith(f"amqp://{service}:pw@{service}-amqp"), where
            assert settings.database_url.endswith(f"@{service}-db:5432/guanjia_{service}"), where
            assert settings.service_key == "guanjia-keys.service-key.value", where
            assert settings.pii_key == "guanjia-keys.pii-key.value", where
            if service == "gateway":
                assert settings.jwt_private_key == "guanjia-keys.jwt-private-key.value", where
                assert gateway_config.from_env(env).admin_password == "guanjia-keys.admin-password.value", where
            if service == "billing":  # read when a payment callback arrives
                callback = config.secret("GUANJIA_BILLING_CALLBACK_SECRET", env)
                assert callback == "billing-payments.GUANJIA_BILLING_CALLBACK_SECRET.value", where
            if service == "notifications":
                sms = config.with_secret_files(settings.env, "GUANJIA_SMS_")["GUANJIA_SMS_ALIYUN_ACCESS_KEY_SECRET"]
                assert sms == "notifications-sms.GUANJIA_SMS_ALIYUN_ACCESS_KEY_SECRET.value", where
                wechat = notifications_config.wechat_from_env(env=settings.env)
                assert wechat.app_secret == "notifications-channels.GUANJIA_WECHAT_APP_SECRET.value", where
                assert wechat.callback_token == "notifications-channels.GUANJIA_WECHAT_CALLBACK_TOKEN.value", where
                smtp = notifications_config.smtp_from_env(env=settings.env)
                assert smtp.password == "notifications-channels.GUANJIA_SMTP_PASSWORD.value", where
