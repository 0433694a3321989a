"""The deployment files in deploy/ run what the code expects, the way `make run` runs it.

- Each Kustomize tree (deploy/kubernetes/base and every overlay) renders with `kubectl kustomize`,
  and every object in it is valid for Kubernetes KUBERNETES_VERSION (kubernetes-validate's
  bundled schemas, strict: no unknown field passes).
- checkov passes over the rendered overlays and both Dockerfiles, skipping only the checks
  deploy/checkov.yaml lists, each with its reason.
- Our own checks: every container has its probes (on the routes the processes really serve),
  resources and a locked-down security context; one Job migrates the schema per release and
  the api pods only wait for it; every Deployment has a disruption budget and
  the serving ones an autoscaler; the network policies deny everything but the flows named
  below; the public Ingress reaches only the channels; no secret value is committed; the
  ports, commands and environment variables are the ones the code uses (scripts/supervise.py,
  harness/commands.py, the settings readers), and each process gets the settings its own
  checks insist on in production; the compose file starts every service healthy, in order.

kubectl: the test skips without it, unless MEMBERDESK_REQUIRE_KUBECTL=1 (CI) turns the skip
into a failure. checkov runs from .venv/checkov, which scripts/setup.sh builds.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
OVERLAYS = ("production", "staging")
TREES = ("base", *OVERLAYS)
# The oldest Kubernetes release the manifests are meant for.
KUBERNETES_VERSION = "1.32.0"
CHECKOV = ROOT / ".venv/checkov/bin/checkov"
DOCKERFILES = {
    "api": DEPLOY / "docker/api.Dockerfile",
    "assistant": DEPLOY / "docker/assistant.Dockerfile",
}

COMPONENT = "app.kubernetes.io/component"
SERVING = ("api", "actions", "rasa", "rasa-telegram")  # have a port, a Service and probes
WORKERS = ("email-triage", "email-sender")  # serve nothing
JOBS = ("retention",)  # CronJobs: run, finish, serve nothing
MIGRATION = "migrate"  # the Job that upgrades the schema, once per release
UPGRADE = ["python", "-m", "api.cli", "db", "upgrade"]  # compose's `migrate` runs it too
AUTOSCALED = ("api", "actions", "rasa")
RASAS = ("rasa", "rasa-telegram")
API_CLIENTS = ("actions", "rasa", "rasa-telegram", "email-triage")
SECRET_NAME = "memberdesk-secrets"
CONFIG_NAME = "memberdesk-config"
FAKE_SECRET = "s" * 40  # passes every length and character check of the settings readers
TRACKER_URL = f"postgresql+psycopg2://tracker:{FAKE_SECRET}@postgres.example.internal/tracker"
PENDING_URL = f"postgresql+psycopg2://pending:{FAKE_SECRET}@postgres.example.internal/pending"


# --- rendering ------------------------------------------------------------------------------


def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        message = ("kubectl is not installed: the Kustomize trees in deploy/kubernetes cannot "
                   "be rendered")
        if os.environ.get("MEMBERDESK_REQUIRE_KUBECTL") == "1":
            pytest.fail(message)
        pytest.skip("SKIPPING DEPLOYMENT TESTS - " + message)
    return found


@functools.cache
def _rendered(tree: str) -> str:
    folder = K8S / "base" if tree == "base" else K8S / "overlays" / tree
    done = subprocess.run(
        [kubectl(), "kustomize", str(folder)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"kubectl kustomize {folder} failed:\n{done.stderr}"
    return done.stdout


def rendered(tree: str) -> str:
    kubectl()  # skip (or fail) before the cache sees the call
    return _rendered(tree)


@functools.cache
def _objects(tree: str) -> tuple[dict[str, Any], ...]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return tuple(item for item in yaml.load_all(_rendered(tree), Loader=loader) if item)


def objects(tree: str) -> tuple[dict[str, Any], ...]:
    """The rendered objects, parsed once per test session (tests only read them)."""
    kubectl()
    return _objects(tree)


def of_kind(tree: str, kind: str) -> dict[str, dict[str, Any]]:
    return {item["metadata"]["name"]: item for item in objects(tree) if item["kind"] == kind}


def deployments(tree: str) -> dict[str, dict[str, Any]]:
    return of_kind(tree, "Deployment")


def cron_jobs(tree: str) -> dict[str, dict[str, Any]]:
    return of_kind(tree, "CronJob")


def jobs(tree: str) -> dict[str, dict[str, Any]]:
    return of_kind(tree, "Job")


def workloads(tree: str) -> dict[str, dict[str, Any]]:
    """Every pod template, by workload name: the Deployments', the CronJobs' and the Jobs'."""
    found = {name: d["spec"]["template"] for name, d in deployments(tree).items()}
    found.update({name: job["spec"]["jobTemplate"]["spec"]["template"]
                  for name, job in cron_jobs(tree).items()})
    found.update({name: job["spec"]["template"] for name, job in jobs(tree).items()})
    return found


def boxes(template: dict[str, Any]) -> list[dict[str, Any]]:
    """A pod template's init containers and containers."""
    return template["spec"].get("initContainers", []) + template["spec"]["containers"]


def pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]


def container(tree: str, name: str) -> dict[str, Any]:
    """The main container of Deployment `name` (each has one)."""
    (found,) = pod_spec(deployments(tree)[name])["containers"]
    return found


def config_map(tree: str) -> dict[str, str]:
    (found,) = [
        item for name, item in of_kind(tree, "ConfigMap").items()
        if name.startswith(CONFIG_NAME + "-")
    ]
    return found["data"]


def container_env(tree: str, spec: dict[str, Any]) -> dict[str, str]:
    """What the container's environment would hold, a made-up value for each secret."""
    env: dict[str, str] = {}
    for source in spec.get("envFrom", []):
        assert set(source) == {"configMapRef"}, f"{spec['name']}: only the ConfigMap is envFrom"
        assert source["configMapRef"]["name"].startswith(CONFIG_NAME)
        env.update(config_map(tree))
    for variable in spec.get("env", []):
        if "value" in variable:
            env[variable["name"]] = variable["value"]
        else:
            env[variable["name"]] = FAKE_SECRET
    return env


def secret_refs(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        variable["name"]: variable["valueFrom"]["secretKeyRef"]
        for variable in spec.get("env", [])
        if "secretKeyRef" in variable.get("valueFrom", {})
    }


# --- what the code says ---------------------------------------------------------------------


@functools.cache
def supervise() -> ModuleType:
    """scripts/supervise.py, the way `make run` starts every process."""
    spec = importlib.util.spec_from_file_location(
        "supervise_for_deploy", ROOT / "scripts/supervise.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def make_run_processes() -> dict[str, list[str]]:
    """The command lines `make run` starts with no settings changed (email on, model present)."""
    module = supervise()
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("MEMBERDESK_", "TELEGRAM_")):
                patch.delenv(name)
        patch.setenv("MEMBERDESK_SMTP_HOST", "smtp.example.org")
        patch.setenv("MEMBERDESK_IMAP_HOST", "imap.example.org")
        patch.setattr(module, "MODEL", ROOT / "pyproject.toml")  # any file that exists
        patch.setattr(module, "credentials", lambda: "bot/credentials.yml")
        return {name: command for name, (command, _env) in module.processes().items()}


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


@functools.cache
def ports() -> dict[str, int]:
    """The port each serving process listens on under `make run`."""
    found = {name: int(option(make_run_processes()[name], "--port"))
             for name in ("api", "actions", "rasa")}
    found["rasa-telegram"] = found["rasa"]
    return found


def in_container(command: list[str]) -> list[str]:
    """A `make run` command line as a container runs it: its environment's python on PATH,
    listening on the pod's address."""
    moved = ["python", *command[1:]]
    for flag in ("--host", "--interface"):
        if flag in moved:
            moved[moved.index(flag) + 1] = "0.0.0.0"
    return moved


def harness_commands() -> ModuleType:
    import harness.commands

    return harness.commands


def _source_files() -> Iterator[Path]:
    for folder in ("api", "bot", "actions", "channels", "harness", "scripts"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".yml", ".sh") and "__pycache__" not in path.parts:
                yield path


@functools.cache
def variables_the_code_reads() -> frozenset[str]:
    """Every environment variable named in the source, and the records API's settings."""
    from api.config import Settings
    from api.mail.settings import EmailSettings

    named = set()
    pattern = re.compile(
        r"\b(?:MEMBERDESK|TELEGRAM|RASA)_[A-Z0-9_]*[A-Z0-9]\b|\bOPENBLAS_NUM_THREADS\b"
    )
    for path in _source_files():
        named.update(pattern.findall(path.read_text(encoding="utf-8")))
    for settings in (Settings, EmailSettings):
        named.update(f"MEMBERDESK_{field.upper()}" for field in settings.model_fields)
    return frozenset(named)


def referenced_variables(text: str) -> set[str]:
    """The ${VARIABLES} Rasa expands in an endpoints or credentials file."""
    return set(re.findall(r"\$\{([A-Z0-9_]+)\}", text))


def secrets_example() -> dict[str, str]:
    return env_file(DEPLOY / "secrets.env.example")


def env_file(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            found[key] = value
    return found


def quantity(value: str | int) -> float:
    """A Kubernetes CPU or memory quantity as a number (cores, bytes)."""
    text = str(value)
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


# --- schemas and checkov --------------------------------------------------------------------


@pytest.mark.parametrize("tree", TREES)
def test_every_rendered_object_is_valid_for_the_stated_kubernetes(tree: str) -> None:
    problems = []
    for item in objects(tree):
        try:
            kubernetes_validate.validate(item, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{item['kind']}/{item['metadata']['name']}: {exc.message}")
    assert not problems, "\n".join(problems)
    assert {"Deployment", "Service", "NetworkPolicy", "Ingress", "ConfigMap", "CronJob", "Job",
            "PodDisruptionBudget", "HorizontalPodAutoscaler"} <= {i["kind"] for i in objects(tree)}


def test_checkov_passes_on_the_overlays_and_the_dockerfiles(tmp_path: Path) -> None:
    assert CHECKOV.exists(), f"{CHECKOV} is missing: run `make setup` (scripts/setup.sh)"
    files = []
    for overlay in OVERLAYS:
        (tmp_path / f"{overlay}.yaml").write_text(rendered(overlay))
        files += ["--file", str(tmp_path / f"{overlay}.yaml")]
    for dockerfile in DOCKERFILES.values():
        files += ["--file", str(dockerfile)]
    done = subprocess.run(
        [str(CHECKOV), "--config-file", str(DEPLOY / "checkov.yaml"), *files,
         "--framework", "kubernetes", "dockerfile", "--output", "json"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert done.stdout.strip(), f"checkov printed nothing:\n{done.stderr[-3000:]}"
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    by_type = {report["check_type"]: report for report in reports}
    assert set(by_type) == {"kubernetes", "dockerfile"}, done.stderr[-3000:]
    failed = [
        f"{check['check_id']} {check['check_name']}: {check['resource']} ({check['file_path']})"
        for report in reports for check in report["results"]["failed_checks"]
    ]
    assert not failed, "checkov failed:\n" + "\n".join(failed)
    for report in reports:
        assert report["summary"]["parsing_errors"] == 0, report["summary"]
        assert report["summary"]["passed"] > 0, report["summary"]
    assert by_type["dockerfile"]["summary"]["resource_count"] == len(DOCKERFILES)
    assert done.returncode == 0, done.stderr[-3000:]


def test_each_skipped_checkov_check_has_its_reason() -> None:
    lines = (DEPLOY / "checkov.yaml").read_text().splitlines()
    config = yaml.safe_load("\n".join(lines))
    # Nothing that would narrow what runs or let a failure pass (skip-path, soft-fail, ...).
    assert set(config) == {"compact", "quiet", "skip-download", "skip-check"}
    for check in config["skip-check"]:
        (index,) = [i for i, line in enumerate(lines) if line.strip() == f"- {check}"]
        reason = lines[index - 1].strip()
        assert reason.startswith("#") and len(reason) > 20, f"{check} is skipped without a reason"


# --- pods -----------------------------------------------------------------------------------


@pytest.mark.parametrize("tree", TREES)
def test_the_deployments_are_the_processes_that_make_up_memberdesk(tree: str) -> None:
    found = deployments(tree)
    assert set(found) == {*SERVING, *WORKERS}
    for name, deployment in found.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels[COMPONENT] == name
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize("tree", TREES)
def test_every_container_has_resources_and_a_locked_down_security_context(tree: str) -> None:
    for name, template in workloads(tree).items():
        spec = template["spec"]
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] >= 10000, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for box in spec.get("initContainers", []) + spec["containers"]:
            where = f"{name}/{box['name']}"
            for kind in ("requests", "limits"):
                assert set(box["resources"][kind]) >= {"cpu", "memory"}, where
                for resource, amount in box["resources"]["requests"].items():
                    assert quantity(amount) <= quantity(box["resources"]["limits"][resource])
            context = box["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["runAsNonRoot"] is True, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
            assert context.get("privileged") is not True, where
            # With a read-only root, what a process writes goes to a volume of its own.
            mounts = {mount["mountPath"]: mount["name"] for mount in box["volumeMounts"]}
            volumes = {volume["name"]: volume for volume in spec["volumes"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], where
            env = container_env(tree, box)
            for variable in ("MEMBERDESK_PENDING_STORE", "MEMBERDESK_TELEGRAM_STORE"):
                if variable in env:
                    assert str(Path(env[variable]).parent) in mounts, f"{where}: {variable}"


@pytest.mark.parametrize("tree", TREES)
def test_each_serving_container_is_probed_on_its_process_health_route(tree: str) -> None:
    from api.main import create_app

    api_routes = {path for path, item in create_app().openapi()["paths"].items() if "get" in item}
    actions_open = ast.literal_eval(
        re.search(r"OPEN_PATHS = frozenset\((\{.*?\})\)",
                  (ROOT / "actions/server.py").read_text()).group(1)
    )
    channel = {
        name: re.search(r'CHANNEL_NAME = "(\w+)"', (ROOT / path).read_text()).group(1)
        for name, path in (("webchat", "channels/webchat/messages.py"),
                           ("telegram", "channels/telegram/output.py"))
    }
    # Rasa serves `/` once the model is loaded; a channel's blueprint, under /webhooks/NAME/,
    # answers GET / with {"status": "ok"} (channels/webchat/channel.py, telegram/channel.py).
    rasa_root = "/"
    expected = {
        "api": {"startupProbe": "/api/v1/health", "readinessProbe": "/api/v1/health",
                "livenessProbe": "/api/v1/health"},
        "actions": dict.fromkeys(("startupProbe", "readinessProbe", "livenessProbe"),
                                 "/health"),
        "rasa": {"startupProbe": rasa_root, "livenessProbe": rasa_root,
                 "readinessProbe": f"/webhooks/{channel['webchat']}/"},
        "rasa-telegram": {"startupProbe": rasa_root, "livenessProbe": rasa_root,
                          "readinessProbe": f"/webhooks/{channel['telegram']}/"},
    }
    assert "/api/v1/health" in api_routes
    assert "/health" in actions_open
    for name in SERVING:
        box = container(tree, name)
        (port,) = box["ports"]
        assert port["containerPort"] == ports()[name], name
        for probe, path in expected[name].items():
            assert box[probe]["httpGet"] == {"path": path, "port": port["name"]}, (name, probe)
        # Rasa loads TensorFlow and the model before it listens: minutes on a slow node.
        startup = box["startupProbe"]
        allowed = startup["periodSeconds"] * startup["failureThreshold"]
        assert allowed >= (240 if name in RASAS else 60), name
    for name in WORKERS:
        box = container(tree, name)
        assert "ports" not in box, f"{name} serves nothing and opens no port"
        assert box["readinessProbe"]["exec"]["command"][:2] == ["python", "-c"], name
        assert "livenessProbe" not in box and "startupProbe" not in box, name


@pytest.mark.parametrize("tree", TREES)
def test_ports_are_the_ones_the_processes_listen_on(tree: str) -> None:
    from api.config import Settings

    assert Settings.model_fields["api_port"].default == ports()["api"]
    endpoints = yaml.safe_load((ROOT / "bot/endpoints.yml").read_text())
    assert f":{ports()['actions']}/" in endpoints["action_endpoint"]["url"]
    services = of_kind(tree, "Service")
    assert set(services) == set(SERVING), "every serving process has a Service, workers none"
    for name in SERVING:
        (service_port,) = services[name]["spec"]["ports"]
        assert service_port["port"] == ports()[name], name
        assert service_port["targetPort"] == container(tree, name)["ports"][0]["name"], name
        assert services[name]["spec"]["selector"].items() <= (
            deployments(tree)[name]["spec"]["template"]["metadata"]["labels"].items()
        )
    config = config_map(tree)
    assert config["MEMBERDESK_API_URL"] == f"http://api:{ports()['api']}"
    assert config["MEMBERDESK_ACTIONS_URL"] == f"http://actions:{ports()['actions']}/webhook"


@pytest.mark.parametrize("tree", TREES)
def test_commands_are_the_ones_make_run_starts(tree: str) -> None:
    commands = harness_commands()
    processes = make_run_processes()
    assert container(tree, "api")["command"] == in_container(processes["api"])
    assert container(tree, "actions")["command"] == commands.actions_command(
        "python", ports()["actions"]
    )
    assert container(tree, "actions")["command"] == in_container(processes["actions"])
    for name, credentials in (("rasa", "credentials.yml"),
                              ("rasa-telegram", "credentials-telegram.yml")):
        # Rasa's HTTP API as `make run` leaves it in production without a token: off.
        assert container(tree, name)["command"] == commands.rasa_command(
            "python", model="models/memberdesk.tar.gz", host="0.0.0.0", port=ports()["rasa"],
            endpoints="/etc/memberdesk/rasa/endpoints.yml",
            credentials=f"/etc/memberdesk/rasa/{credentials}",
            api_options=commands.rasa_api_options("production", None),
        )
        env = container_env(tree, container(tree, name))
        assert supervise().NO_TELEMETRY.items() <= env.items()
        assert supervise().SERVING_THREADS.items() <= env.items()
    assert container(tree, "email-triage")["command"] == in_container(processes["email-poller"])
    assert container(tree, "email-sender")["command"] == in_container(processes["email-sender"])


@pytest.mark.parametrize("tree", TREES)
def test_one_job_migrates_the_schema_and_the_api_pods_only_wait_for_it(tree: str) -> None:
    assert set(jobs(tree)) == {MIGRATION}, "one migration Job, and no other Job"
    job = jobs(tree)[MIGRATION]["spec"]
    template = workloads(tree)[MIGRATION]
    (box,) = template["spec"]["containers"]
    assert "initContainers" not in template["spec"]
    assert box["command"] == UPGRADE
    assert box["image"] == container(tree, "api")["image"], "the records API's image"
    assert "ports" not in box and "readinessProbe" not in box and "livenessProbe" not in box
    # A try that fails is retried a few times, a stuck one is stopped, a finished one cleared.
    assert 1 <= job["backoffLimit"] <= 3
    assert 0 < job["activeDeadlineSeconds"] <= 3600
    assert job["ttlSecondsAfterFinished"] >= 3600, "long enough to read its logs"
    assert template["spec"]["restartPolicy"] in ("Never", "OnFailure")
    assert template["metadata"]["labels"][COMPONENT] == MIGRATION
    # The api pod's account and hardening, and of its secrets only the database URL: the
    # schema commands read nothing else (api/config.py, DatabaseSettings).
    api = pod_spec(deployments(tree)["api"])
    for key in ("serviceAccountName", "automountServiceAccountToken", "securityContext"):
        assert template["spec"][key] == api[key], key
    assert box["securityContext"] == container(tree, "api")["securityContext"]
    assert secret_refs(box) == {
        "MEMBERDESK_DATABASE_URL": secret_refs(container(tree, "api"))["MEMBERDESK_DATABASE_URL"]
    }
    # Not the ConfigMap: its name carries a hash of the settings, and a Job's template cannot
    # change, so every settings change would make the apply fail on the Job.
    assert "envFrom" not in box and {v["name"] for v in box["env"]} == {"MEMBERDESK_DATABASE_URL"}
    # Nothing else upgrades the schema: no init container of the api pods, no other workload.
    upgrading = {
        f"{name}/{b['name']}"
        for name, t in workloads(tree).items()
        for b in boxes(t)
        if "upgrade" in b.get("command", []) and "db" in b.get("command", [])
    }
    assert upgrading == {f"{MIGRATION}/{box['name']}"}
    # ... while every api pod waits, before it serves, until the schema is at its head, for as
    # long as the Job may take, with the same database URL.
    (wait,) = api["initContainers"]
    assert wait["command"][:6] == ["python", "-m", "api.cli", "db", "check", "--wait"]
    assert float(option(wait["command"], "--wait")) >= job["activeDeadlineSeconds"]
    assert wait["image"] == container(tree, "api")["image"]
    assert secret_refs(wait) == secret_refs(box) and "envFrom" not in wait
    for name, template in workloads(tree).items():
        if name != "api":
            assert "initContainers" not in template["spec"], name


@pytest.mark.parametrize("tree", TREES)
def test_the_retention_purge_runs_nightly_as_the_records_api_does(tree: str) -> None:
    assert set(cron_jobs(tree)) == set(JOBS)
    job = cron_jobs(tree)["retention"]["spec"]
    assert job["concurrencyPolicy"] == "Forbid" and job["timeZone"] == "Europe/London"
    minute, hour, *every_day = job["schedule"].split()
    assert every_day == ["*", "*", "*"] and 0 <= int(hour) < 6, "nightly, before the day starts"
    template = workloads(tree)["retention"]
    assert template["spec"]["restartPolicy"] == "Never"
    (box,) = template["spec"]["containers"]
    assert box["command"] == ["python", "-m", "api.cli", "retention", "purge"]
    assert box["image"] == container(tree, "api")["image"], "the records API's image"
    assert "ports" not in box and "readinessProbe" not in box
    # The records API's own secrets, and the tracker store's URL beside them.
    assert secret_refs(box) == {
        **secret_refs(container(tree, "api")),
        "MEMBERDESK_TRACKER_STORE_URL": {"name": SECRET_NAME,
                                         "key": "MEMBERDESK_TRACKER_STORE_URL"},
    }
    assert box["envFrom"] == container(tree, "api")["envFrom"]


@pytest.mark.parametrize("tree", TREES)
def test_rasa_is_given_the_production_endpoints_and_every_variable_they_name(tree: str) -> None:
    mounted = K8S / "base/rasa"
    assert (mounted / "endpoints.yml").read_text() == (
        ROOT / "bot/endpoints.production.yml"
    ).read_text(), (
        "deploy/kubernetes/base/rasa/endpoints.yml is a copy of bot/endpoints.production.yml")
    assert (mounted / "credentials.yml").read_text() == (ROOT / "bot/credentials.yml").read_text()
    assert yaml.safe_load((mounted / "credentials-telegram.yml").read_text()) == yaml.safe_load(
        supervise().TELEGRAM_SECTION
    ), "the Telegram replica's channel is the one `make run` adds"
    endpoints = yaml.safe_load((mounted / "endpoints.yml").read_text())
    assert endpoints["tracker_store"]["type"] == "SQL"
    assert endpoints["lock_store"]["type"] == "redis"
    (rasa_config,) = [item for name, item in of_kind(tree, "ConfigMap").items()
                      if name.startswith("rasa-config-")]
    for name, credentials in (("rasa", "credentials.yml"),
                              ("rasa-telegram", "credentials-telegram.yml")):
        box = container(tree, name)
        (volume,) = [v for v in pod_spec(deployments(tree)[name])["volumes"]
                     if "configMap" in v]
        assert volume["configMap"]["name"] == rasa_config["metadata"]["name"]
        mount = next(m for m in box["volumeMounts"] if m["name"] == volume["name"])
        assert option(box["command"], "--endpoints") == f"{mount['mountPath']}/endpoints.yml"
        assert option(box["command"], "--credentials") == f"{mount['mountPath']}/{credentials}"
        needed = referenced_variables(rasa_config["data"]["endpoints.yml"])
        needed |= referenced_variables(rasa_config["data"][credentials])
        # Rasa refuses to start when a variable its files name is not set.
        missing = needed - set(container_env(tree, box))
        assert not missing, f"{name} lacks {sorted(missing)}"


@pytest.mark.parametrize("tree", TREES)
def test_each_process_gets_what_its_settings_insist_on_in_production(tree: str) -> None:
    from api.config import DatabaseSettings, Settings
    from api.mail.settings import EmailSettings
    from bot.settings import actions_secret_required, pending_store_url_checked, read_settings
    from channels.email.settings import mailbox_settings

    def environment(box: dict[str, Any]) -> pytest.MonkeyPatch:
        patch = pytest.MonkeyPatch()
        for name in list(os.environ):
            if name.startswith(("MEMBERDESK_", "TELEGRAM_")):
                patch.delenv(name)
        for name, value in container_env(tree, box).items():
            # A URL from the Secret must still read as one.
            urls = {"MEMBERDESK_TRACKER_STORE_URL": TRACKER_URL,
                    "MEMBERDESK_PENDING_STORE_URL": PENDING_URL}
            patch.setenv(name, urls.get(name, value))
        return patch

    (retention,) = workloads(tree)["retention"]["spec"]["containers"]
    # The schema commands (the migrate Job, the api pods' wait) read the database URL alone.
    (migrate,) = workloads(tree)[MIGRATION]["spec"]["containers"]
    for box in (migrate, *pod_spec(deployments(tree)["api"])["initContainers"]):
        patch = environment(box)
        try:
            assert DatabaseSettings(_env_file=None).database_url == FAKE_SECRET, box["name"]
        finally:
            patch.undo()
    api_side = [container(tree, "api"), container(tree, "email-sender"), retention]
    for box in api_side:
        patch = environment(box)
        try:
            settings = Settings(_env_file=None)
            EmailSettings(_env_file=None)
        finally:
            patch.undo()
        assert settings.env == config_map(tree)["MEMBERDESK_ENV"]
        assert settings.env in ("staging", "production")
        assert settings.database_url == FAKE_SECRET, "the database URL comes from the Secret"
        if box is retention:
            assert settings.tracker_store_url == TRACKER_URL, "the purge reaches Rasa's trackers"
    for name in ("actions", "rasa", "rasa-telegram", "email-triage"):
        patch = environment(container(tree, name))
        try:
            settings = read_settings()  # refuses the development placeholders
            if name == "actions":
                assert actions_secret_required(settings) == FAKE_SECRET
                # Kept requests in the shared database, not on the pod's disk.
                assert pending_store_url_checked(settings) == PENDING_URL
            if name == "email-triage":
                mailbox_settings()
        finally:
            patch.undo()
        assert settings.api_url == f"http://api:{ports()['api']}"
        assert settings.channel_secret == FAKE_SECRET, f"{name}: its own channel secret"
    assert "MEMBERDESK_WEBCHAT_JWT_SECRET" in secret_refs(container(tree, "rasa"))
    telegram = secret_refs(container(tree, "rasa-telegram"))
    assert {"TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET"} <= set(telegram)
    assert container_env(tree, container(tree, "actions"))["MEMBERDESK_ACTIONS_HOST"] == "0.0.0.0"


# --- scaling and disruption -----------------------------------------------------------------


def replicas_at_least(tree: str, name: str) -> int:
    autoscalers = of_kind(tree, "HorizontalPodAutoscaler")
    if name in autoscalers:
        return autoscalers[name]["spec"]["minReplicas"]
    return deployments(tree)[name]["spec"]["replicas"]


@pytest.mark.parametrize("tree", TREES)
def test_every_deployment_has_a_disruption_budget_that_allows_a_drain(tree: str) -> None:
    budgets = of_kind(tree, "PodDisruptionBudget")
    for name, deployment in deployments(tree).items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        selecting = [budget for budget in budgets.values()
                     if budget["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(selecting) == 1, f"{name} is selected by {len(selecting)} budgets"
        spec = selecting[0]["spec"]
        if "minAvailable" in spec:
            # Otherwise no node running one of its pods could ever be drained.
            assert spec["minAvailable"] < replicas_at_least(tree, name), name
        else:
            assert spec["maxUnavailable"] >= 1, name


@pytest.mark.parametrize("tree", TREES)
def test_the_serving_processes_scale_on_cpu_and_only_the_autoscaler_sets_their_count(
    tree: str,
) -> None:
    autoscalers = of_kind(tree, "HorizontalPodAutoscaler")
    assert set(autoscalers) == set(AUTOSCALED)
    for name, autoscaler in autoscalers.items():
        assert autoscaler["apiVersion"] == "autoscaling/v2"
        assert autoscaler["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert 1 <= autoscaler["spec"]["minReplicas"] < autoscaler["spec"]["maxReplicas"]
        (metric,) = autoscaler["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
        # An apply would reset a count the autoscaler had set.
        assert "replicas" not in deployments(tree)[name]["spec"], name
    for name in set(deployments(tree)) - set(AUTOSCALED):
        assert deployments(tree)[name]["spec"]["replicas"] == 1, name
    # The Telegram store is one SQLite file: a second pod must never run beside the first.
    assert deployments(tree)["rasa-telegram"]["spec"]["strategy"] == {"type": "Recreate"}


def test_production_runs_more_and_bigger_than_the_base() -> None:
    base = of_kind("base", "HorizontalPodAutoscaler")
    production = of_kind("production", "HorizontalPodAutoscaler")
    for name in AUTOSCALED:
        assert production[name]["spec"]["minReplicas"] >= 3, name
        assert production[name]["spec"]["minReplicas"] > base[name]["spec"]["minReplicas"]
        assert production[name]["spec"]["maxReplicas"] > base[name]["spec"]["maxReplicas"]
    for name in ("rasa", "api", "actions"):
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                more = container("production", name)["resources"][kind][resource]
                less = container("base", name)["resources"][kind][resource]
                assert quantity(more) >= quantity(less), (name, kind, resource)
    assert quantity(container("production", "rasa")["resources"]["requests"]["memory"]) > (
        quantity(container("base", "rasa")["resources"]["requests"]["memory"])
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlays_run_one_released_version_of_both_images(overlay: str) -> None:
    images = {box["image"] for template in workloads(overlay).values()
              for box in template["spec"].get("initContainers", []) + template["spec"][
                  "containers"]}
    tags = set()
    for image in images:
        name, _, tag = image.rpartition(":")
        assert "/" in name and tag and tag != "latest", image
        tags.add(tag)
    assert len(images) == 2 and len(tags) == 1, images
    assert config_map(overlay)["MEMBERDESK_ENV"] == overlay


# --- network --------------------------------------------------------------------------------

ALL_PODS = "*"
ANYWHERE = ("anywhere",)
KUBE_DNS = ("namespace", "kube-system", "k8s-app=kube-dns")
INGRESS_CONTROLLER = ("namespace", "ingress-nginx", ALL_PODS)
PUBLIC_INTERNET = ("ipBlock", "0.0.0.0/0",
                   ("10.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"))


def pods(*components: str) -> tuple[str, ...]:
    return ("pods", *sorted(components))


def expected_flows(tree: str) -> dict[str, tuple[Any, ...]]:
    """Each allowed flow, by the name of its policy: direction, pods, peer, ports."""
    from api.mail.settings import EmailSettings

    config = config_map(tree)
    postgres = int(config["MEMBERDESK_TRACKER_DB_PORT"])
    redis = int(config["MEMBERDESK_REDIS_PORT"])
    imaps = int(re.search(r'"MEMBERDESK_IMAP_PORT", "(\d+)"',
                          (ROOT / "channels/email/settings.py").read_text()).group(1))
    smtp = EmailSettings.model_fields["smtp_port"].default
    tcp = "TCP"
    return {
        "allow-dns": ("Egress", ALL_PODS, KUBE_DNS, {(53, "UDP"), (53, tcp)}),
        "allow-ingress-controller-to-rasa": (
            "Ingress", frozenset(RASAS), INGRESS_CONTROLLER, {(ports()["rasa"], tcp)}),
        "allow-ingress-controller-to-api": (
            "Ingress", frozenset({"api"}), INGRESS_CONTROLLER, {(ports()["api"], tcp)}),
        "allow-rasa-to-actions": (
            "Ingress", frozenset({"actions"}), pods(*RASAS), {(ports()["actions"], tcp)}),
        "allow-rasa-egress-to-actions": (
            "Egress", frozenset(RASAS), pods("actions"), {(ports()["actions"], tcp)}),
        "allow-clients-to-api": (
            "Ingress", frozenset({"api"}), pods(*API_CLIENTS), {(ports()["api"], tcp)}),
        "allow-clients-egress-to-api": (
            "Egress", frozenset(API_CLIENTS), pods("api"), {(ports()["api"], tcp)}),
        "allow-egress-to-postgresql": (
            "Egress",
            frozenset({"api", MIGRATION, "email-sender", "actions", *JOBS, *RASAS}),
            ANYWHERE,
            {(postgres, tcp)},
        ),
        "allow-egress-to-redis": ("Egress", frozenset(RASAS), ANYWHERE, {(redis, tcp)}),
        "allow-telegram-egress-to-bot-api": (
            "Egress", frozenset({"rasa-telegram"}), PUBLIC_INTERNET, {(443, tcp)}),
        "allow-email-triage-egress-to-imap": (
            "Egress", frozenset({"email-triage"}), ANYWHERE, {(imaps, tcp)}),
        "allow-email-sender-egress-to-smtp": (
            "Egress", frozenset({"email-sender"}), ANYWHERE, {(smtp, tcp), (465, tcp)}),
    }


def selected(selector: dict[str, Any]) -> Any:
    """The components a pod selector picks: ALL_PODS for {}."""
    if not selector:
        return ALL_PODS
    if "matchLabels" in selector:
        assert set(selector) == {"matchLabels"} and set(selector["matchLabels"]) == {COMPONENT}
        return frozenset({selector["matchLabels"][COMPONENT]})
    (expression,) = selector["matchExpressions"]
    assert set(selector) == {"matchExpressions"}
    assert expression["key"] == COMPONENT and expression["operator"] == "In"
    return frozenset(expression["values"])


def peer(rule: dict[str, Any], side: str) -> tuple[Any, ...]:
    if side not in rule:
        return ANYWHERE
    (found,) = rule[side]
    if "ipBlock" in found:
        block = found["ipBlock"]
        return ("ipBlock", block["cidr"], tuple(sorted(block.get("except", []))))
    if "namespaceSelector" in found:
        namespace = found["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        labels = found.get("podSelector", {}).get("matchLabels", {})
        return ("namespace", namespace,
                ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or ALL_PODS)
    return pods(*selected(found["podSelector"]))


@pytest.mark.parametrize("tree", TREES)
def test_network_policies_deny_all_but_the_named_flows(tree: str) -> None:
    policies = of_kind(tree, "NetworkPolicy")
    deny = policies.pop("default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    flows = {}
    for name, policy in policies.items():
        spec = policy["spec"]
        (direction,) = spec["policyTypes"]  # one flow, one direction, one name
        (rule,) = spec[direction.lower()]
        side = "from" if direction == "Ingress" else "to"
        flows[name] = (direction, selected(spec["podSelector"]), peer(rule, side),
                       {(port["port"], port["protocol"]) for port in rule["ports"]})
    assert flows == expected_flows(tree)
    components = {template["metadata"]["labels"][COMPONENT]
                  for template in workloads(tree).values()}
    for _direction, subjects, other, _ports in flows.values():
        named = set() if subjects == ALL_PODS else set(subjects)
        if other[0] == "pods":
            named |= set(other[1:])
        assert named <= components, f"a policy names pods that do not exist: {named}"


@pytest.mark.parametrize("tree", TREES)
def test_the_public_ingress_reaches_only_the_channels_and_the_payment_page(tree: str) -> None:
    ingresses = of_kind(tree, "Ingress")
    assert ingresses
    routes = {}
    for ingress in ingresses.values():
        spec = ingress["spec"]
        assert spec["tls"], "members reach the channels over HTTPS only"
        assert "defaultBackend" not in spec
        for rule in spec["rules"]:
            assert rule["host"] in spec["tls"][0]["hosts"]
            for path in rule["http"]["paths"]:
                routes[path["path"]] = (path["backend"]["service"]["name"], path["pathType"])
    assert routes == {
        "/webhooks/webchat/": ("rasa", "Prefix"),
        "/webhooks/telegram/": ("rasa-telegram", "Prefix"),
        "/pay/": ("api", "Prefix"),
    }
    # Of the records API only the payment page, whose links go to members: never the JSON API
    # or the staff console it serves, nor Rasa's REST channel or HTTP API.
    for path in ("/api/v1/members/1000001", "/console/", "/console/sign-in"):
        assert not any(path.startswith(prefix) for prefix in routes), path
    public = urlsplit(config_map(tree)["MEMBERDESK_PUBLIC_URL"])
    hosts = {rule["host"] for ingress in ingresses.values() for rule in ingress["spec"]["rules"]}
    assert public.scheme == "https" and public.hostname in hosts, (
        "payment links are made from MEMBERDESK_PUBLIC_URL: it must be the public host")
    def backends(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("service"), dict):
                yield node["service"]["name"]
            for value in node.values():
                yield from backends(value)
        elif isinstance(node, list):
            for value in node:
                yield from backends(value)

    assert set(backends(list(ingresses.values()))) == {*RASAS, "api"}
    for path in routes:
        assert not "/webhooks/rest/webhook".startswith(path) and path != "/"


# --- secrets and settings -------------------------------------------------------------------


@pytest.mark.parametrize("tree", TREES)
def test_no_secret_value_is_committed_and_every_reference_is_documented(tree: str) -> None:
    assert "Secret" not in {item["kind"] for item in objects(tree)}
    for path in DEPLOY.rglob("*"):
        if path.is_file() and path.suffix in (".yaml", ".yml"):
            assert not re.search(r"^kind:\s*Secret\s*$", path.read_text(), re.M), path
    example = secrets_example()
    assert set(example.values()) == {""}, "deploy/secrets.env.example holds no values"
    used = set()
    for template in workloads(tree).values():
        spec = template["spec"]
        for box in spec.get("initContainers", []) + spec["containers"]:
            for variable, reference in secret_refs(box).items():
                assert reference["name"] == SECRET_NAME
                assert reference["key"] == variable
                used.add(variable)
            for variable in box.get("env", []):
                if "value" in variable:
                    assert variable["name"] not in example, f"{variable['name']} inline"
    assert used == set(example), "the Secret's keys are the ones deploy/secrets.env.example lists"
    for key, value in config_map(tree).items():
        assert key not in example and not re.search("PASSWORD|SECRET|TOKEN", key), key
        if "://" in value:
            assert "@" not in urlsplit(value).netloc, f"{key} carries credentials"
    for ingress in of_kind(tree, "Ingress").values():
        assert ingress["spec"]["tls"][0]["secretName"].endswith("-tls")


@pytest.mark.parametrize("tree", TREES)
def test_the_manifests_set_only_variables_the_code_reads(tree: str) -> None:
    known = variables_the_code_reads()
    names = set(config_map(tree)) | set(secrets_example())
    for template in workloads(tree).values():
        spec = template["spec"]
        for box in spec.get("initContainers", []) + spec["containers"]:
            names |= {variable["name"] for variable in box.get("env", [])}
    unknown = names - known
    assert not unknown, f"set in deploy/kubernetes but read nowhere in the code: {sorted(unknown)}"


# --- images ---------------------------------------------------------------------------------


def dockerfile(path: Path) -> list[list[tuple[str, str]]]:
    """The instructions of each stage, continuation lines joined, comments left out."""
    stages: list[list[tuple[str, str]]] = []
    logical = ""
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("#") and not logical:
            continue
        logical += line.rstrip("\\").strip() + " "
        if line.rstrip().endswith("\\"):
            continue
        instruction, _, arguments = logical.strip().partition(" ")
        logical = ""
        if not instruction:
            continue
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), arguments.strip()))
    return stages


def instructions(stage: list[tuple[str, str]], name: str) -> list[str]:
    return [arguments for instruction, arguments in stage if instruction == name]


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_images_are_multi_stage_non_root_and_healthchecked(image: str) -> None:
    stages = dockerfile(DOCKERFILES[image])
    assert len(stages) >= 2, "the build tools stay in a build stage"
    final = stages[-1]
    assert re.fullmatch(r"python:3\.10-slim-\w+ AS runtime", instructions(final, "FROM")[0])
    (user,) = instructions(final, "USER")
    uid, _, gid = user.partition(":")
    assert int(uid) >= 10000 and int(gid) >= 10000, "a numeric, non-root user"
    (healthcheck,) = instructions(final, "HEALTHCHECK")
    assert "CMD" in healthcheck
    for stage in stages:
        for instruction, arguments in stage:
            if instruction in ("ENV", "ARG"):
                assert not re.search(r"PASSWORD|SECRET|TOKEN|KEY\b", arguments), arguments
            if instruction in ("COPY", "ADD"):
                assert instruction == "COPY", "COPY only: nothing fetched from a URL"
                sources = arguments.split()[:-1]
                if not any(source.startswith("--from") for source in sources):
                    for source in sources:
                        assert (ROOT / source).exists(), f"{source} is not in the repository"
    requirements = {match for stage in stages for run in instructions(stage, "RUN")
                    for match in re.findall(r"-r (requirements/[\w-]+\.txt)", run)}
    assert requirements, "the pinned requirements are installed"
    assert all((ROOT / path).exists() for path in requirements)
    command = json.loads(instructions(final, "CMD")[0])
    if image == "api":
        assert requirements == {"requirements/api.txt"}
        assert command == in_container(make_run_processes()["api"])
        assert instructions(final, "EXPOSE") == [str(ports()["api"])]
        assert "/api/v1/health" in healthcheck
    else:
        assert requirements == {"requirements/bot.txt", "requirements/bot-nodeps.txt"}
        (train,) = [stage for stage in stages if "AS train" in stage[0][1]]
        assert "bash scripts/train.sh" in instructions(train, "RUN")
        assert any(arguments.startswith("--from=train ") and "models/memberdesk.tar.gz" in arguments
                   for arguments in instructions(final, "COPY")), "the trained model is baked in"
        assert instructions(final, "EXPOSE") == [f"{ports()['rasa']} {ports()['actions']}"]
        assert f":{ports()['rasa']}/" in healthcheck
        assert option(command, "--endpoints") == "bot/endpoints.production.yml"
        assert option(command, "--port") == str(ports()["rasa"])


def test_the_build_context_leaves_out_secrets_environments_and_local_state() -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert {".git", ".venv", "node_modules", "models", "var", "**/.env", "**/*.env"} <= set(
        patterns)
    # ... and nothing an image copies in.
    for path in DOCKERFILES.values():
        for stage in dockerfile(path):
            for arguments in instructions(stage, "COPY"):
                if arguments.startswith("--from"):
                    continue
                for source in arguments.split()[:-1]:
                    parts = Path(source).parts
                    prefixes = {"/".join(parts[:n]) for n in range(1, len(parts) + 1)}
                    for pattern in patterns:
                        assert not any(fnmatch.fnmatch(prefix, pattern.removeprefix("**/"))
                                       for prefix in prefixes), (source, pattern)


# --- compose --------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_starts_every_service_healthy_and_in_order() -> None:
    services = compose()["services"]
    assert {"postgres", "redis", "api", "actions", "rasa", "email-triage"} <= set(services)
    one_shot = {name for name, service in services.items() if service.get("restart") == "no"}
    assert one_shot == {"migrate"}
    for name, service in services.items():
        if name not in one_shot:
            assert service["healthcheck"]["test"][0] == "CMD", f"{name} has no healthcheck"
        for needed, condition in service.get("depends_on", {}).items():
            assert needed in services, (name, needed)
            wanted = ("service_completed_successfully" if needed in one_shot
                      else "service_healthy")
            assert condition == {"condition": wanted}, (name, needed)
    assert services["api"]["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"}}
    # The cluster's Job's command: the same upgrade, under the same schema lock.
    assert services["migrate"]["command"] == UPGRADE
    assert {"postgres", "redis", "actions", "api"} <= set(services["rasa"]["depends_on"])


def test_compose_takes_secrets_from_env_files_only_and_uses_the_real_ports() -> None:
    services = compose()["services"]
    example = secrets_example()
    known = variables_the_code_reads()
    ours = {name: s for name, s in services.items() if name not in ("postgres", "redis")}
    for name, service in ours.items():
        assert service["env_file"] == [{"path": "secrets.env", "required": True}], name
        environment = service.get("environment", {})
        assert not set(environment) & set(example), f"{name}: a secret inline"
        assert not set(environment) - known, f"{name}: {sorted(set(environment) - known)}"
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"], name
        for published in service.get("ports", []):
            assert published.startswith("127.0.0.1:"), f"{name} is published beyond the host"
    postgres_example = env_file(DEPLOY / "postgres.env.example")
    assert set(postgres_example) == {"POSTGRES_PASSWORD"} and set(
        postgres_example.values()) == {""}
    assert services["postgres"]["env_file"] == [{"path": "postgres.env", "required": True}]
    for path in ("deploy/secrets.env", "deploy/postgres.env"):
        assert subprocess.run(["git", "check-ignore", "--quiet", path], cwd=ROOT).returncode == 0
    # The same commands and ports as the cluster and `make run`.
    processes = make_run_processes()
    assert services["api"]["command"] == in_container(processes["api"])
    assert services["actions"]["command"] == in_container(processes["actions"])
    assert services["email-triage"]["command"] == in_container(processes["email-poller"])
    assert services["email-sender"]["command"] == in_container(processes["email-sender"])
    for name in ("api", "rasa"):
        assert services[name]["ports"] == [f"127.0.0.1:{ports()[name]}:{ports()[name]}"]
    for name, path in (("api", "/api/v1/health"), ("actions", "/health"),
                       ("rasa", "/webhooks/webchat/"), ("rasa-telegram", "/webhooks/telegram/")):
        url = f"http://127.0.0.1:{ports()[name]}{path}'"
        assert url in services[name]["healthcheck"]["test"][-1], name
        if name in RASAS:
            assert option(services[name]["command"], "--port") == str(ports()["rasa"])
