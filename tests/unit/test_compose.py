"""docker-compose.yml: valid against the Compose specification, and shaped as the deployment needs.

There is no Docker engine here, so the file is checked statically: `check-jsonschema` with its vendored
compose-spec schema, then the structure (the Airflow 3 services, health checks, the image built from
this repository, named volumes, Superset read-only under the `bi` profile) and that every secret comes
from the environment (`${VAR}`, filled from .env), never written in the file.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SERVICES = {"postgres", "redis", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
            "airflow-triggerer", "airflow-worker", "airflow-init", "superset"}
AIRFLOW = sorted(s for s in SERVICES if s.startswith("airflow-"))
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|FERNET|(^|_)KEY($|_)", re.IGNORECASE)
# The whole value is one variable; `${VAR:?message}` (required) is fine, a default (`${VAR:-x}`) is not.
ONLY_VARIABLE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(:?\?[^}]*)?\}")
URL_PASSWORD = re.compile(r"://[^:/@\s]+:([^@\s]+)@")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))  # SafeLoader resolves anchors and `<<` merges


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the list form: ["NAME=value", ...]
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _volumes(service: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(source, target, read_only) of each mount, short or long syntax."""
    out = []
    for vol in service.get("volumes") or []:
        if isinstance(vol, str):
            parts = vol.split(":")
            out.append((parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")))
        else:
            out.append((vol.get("source", ""), vol.get("target", ""), bool(vol.get("read_only"))))
    return out


def test_compose_file_matches_the_compose_specification() -> None:
    exe = Path(sys.executable).with_name("check-jsonschema")
    assert exe.exists(), "check-jsonschema is not installed in this environment (requirements.lock pins it)"
    proc = subprocess.run([str(exe), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_services_and_health_checks(compose: dict[str, Any]) -> None:
    assert "x-airflow-common" in compose, "the shared Airflow block x-airflow-common is missing"
    services = compose["services"]
    assert set(services) >= SERVICES, f"missing services: {sorted(SERVICES - set(services))}"
    for name, service in services.items():
        test = (service.get("healthcheck") or {}).get("test")
        assert test and not service["healthcheck"].get("disable"), f"{name} has no health check"


def test_airflow_runs_the_image_built_from_this_repository(compose: dict[str, Any]) -> None:
    common = compose["x-airflow-common"]
    assert common.get("build") == ".", "x-airflow-common must build the project image from the Dockerfile (build: .)"
    for name in AIRFLOW:
        service = compose["services"][name]
        assert service.get("build") == "." and service.get("image") == common.get("image"), name
        assert _environment(service).get("AIRFLOW__CORE__EXECUTOR") == "CeleryExecutor", name


def test_named_volumes_for_landing_and_warehouse(compose: dict[str, Any]) -> None:
    named = set(compose.get("volumes") or {})
    assert {"landing", "warehouse"} <= named
    for name in AIRFLOW:
        sources = {src for src, _target, _ro in _volumes(compose["services"][name])}
        assert {"landing", "warehouse"} <= sources, f"{name} must mount the landing and warehouse volumes"


def test_superset_reads_the_warehouse_read_only_under_the_bi_profile(compose: dict[str, Any]) -> None:
    superset = compose["services"]["superset"]
    assert "bi" in (superset.get("profiles") or []), "superset must only start with `--profile bi`"
    mounts = [m for m in _volumes(superset) if m[0] == "warehouse"]
    assert mounts, "superset must mount the warehouse volume"
    assert all(read_only for _src, _target, read_only in mounts), "superset must mount the warehouse read-only"
    assert not any(src == "landing" for src, _t, _ro in _volumes(superset)), "BI must not see the landing area"


def test_no_secret_is_written_in_the_file(compose: dict[str, Any]) -> None:
    blocks = {"x-airflow-common": compose["x-airflow-common"], **compose["services"]}
    literal = []
    for name, block in blocks.items():
        for key, value in _environment(block).items():
            if SECRET_NAME.search(key) and not ONLY_VARIABLE.fullmatch(value):
                literal.append(f"{name}: {key}={value}")
            literal += [f"{name}: {key} (password in URL)" for pw in URL_PASSWORD.findall(value)
                        if not ONLY_VARIABLE.fullmatch(pw)]
    assert not literal, f"secrets written in docker-compose.yml, not ${{...}} from .env: {literal}"


def test_the_image_has_what_the_services_run(compose: dict[str, Any]) -> None:
    """What the containers execute must be in the image: statically, from requirements.lock and the Dockerfile."""
    lock = {line.split("==")[0].strip().lower() for line in (ROOT / "requirements.lock").read_text().splitlines()
            if "==" in line and not line.lstrip().startswith("#")}
    dockerfile = (ROOT / "Dockerfile").read_text()
    env = _environment(compose["x-airflow-common"])
    database = env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    missing = []
    celery = env.get("AIRFLOW__CORE__EXECUTOR") == "CeleryExecutor"
    if celery and not {"apache-airflow-providers-celery", "redis"} <= lock:
        missing.append("CeleryExecutor and `airflow celery worker` need apache-airflow-providers-celery (and redis)")
    if "+psycopg2://" in database and not {"psycopg2", "psycopg2-binary"} & lock:
        missing.append("postgresql+psycopg2:// needs psycopg2 (apache-airflow-providers-postgres or psycopg2-binary)")
    installed = lock | {m.lower() for m in re.findall(r'"([A-Za-z0-9_.-]+)==[^"]+"', dockerfile)}
    if database.startswith("postgresql") and not ({"asyncpg", "psycopg"} & installed
                                                  or env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC")):
        missing.append("Airflow 3 also opens a Postgres metadata DB asynchronously (postgresql+asyncpg://): "
                       "the image needs asyncpg")
    built = [name for name, s in compose["services"].items() if s.get("build")]
    if any("curl" in str(compose["services"][n]["healthcheck"]["test"]) for n in built) and "curl" not in dockerfile:
        missing.append("health checks call curl, which python:3.11-slim does not have: install it in the Dockerfile")
    if celery:
        worker = str(compose["services"]["airflow-worker"]["healthcheck"]["test"])
        if "inspect ping" not in worker:
            missing.append("the worker's health check should be `celery ... inspect ping -d celery@$HOSTNAME`")
    for name in AIRFLOW:
        if name == "airflow-init":
            continue
        env_service = _environment(compose["services"][name])
        for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY",
                    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL"):
            if not env_service.get(key):
                missing.append(f"{name} needs {key}: every component must share it (else each generates its own)")
    scheduler = compose["services"]["airflow-scheduler"]
    if "8974" in str(scheduler["healthcheck"]["test"]) and (
            _environment(scheduler).get("AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK", "").lower() != "true"):
        missing.append("the scheduler serves :8974/health only with AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK=true")
    assert not missing, "; ".join(missing)


def test_nothing_leaves_the_machine(compose: dict[str, Any]) -> None:
    """The deployment turns telemetry off as `maturity run` and `maturity.stack` do (one list of settings)."""
    from maturity.airflow_local import NO_TELEMETRY

    env = _environment(compose["x-airflow-common"])
    differing = {k: env.get(k) for k, v in NO_TELEMETRY.items() if str(env.get(k)).lower() != v.lower()}
    assert not differing, f"x-airflow-common sets these telemetry switches differently (or not at all): {differing}"
