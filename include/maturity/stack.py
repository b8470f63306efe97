"""Run the Airflow 3 components as separate processes: the local server (`make serve`) and the
production configuration (Postgres + CeleryExecutor + Redis) without a Docker engine.

    with Stack(StackConfig.local(home)) as stack:          # SQLite + LocalExecutor, no worker
        run = stack.trigger_dag("maturity_ingest")
        stack.wait_for_run("maturity_ingest", run["dag_run_id"])

    python -m maturity.stack serve [--port 8080] [--home .airflow/serve]   # until Ctrl-C
    python -m maturity.stack stop [--home ...]                             # a stack left behind

What `start()` does: writes the secrets (JWT secret, API secret key, Fernet key, the admin password;
kept in AIRFLOW_HOME, mode 600, reused on the next start), runs `airflow db migrate`, starts

    airflow api-server -H 127.0.0.1 -p PORT
    airflow scheduler --skip-serve-logs          (health check on 127.0.0.1:<free port>/health)
    airflow dag-processor
    airflow triggerer --skip-serve-logs
    airflow celery worker --concurrency N --skip-serve-logs       (CeleryExecutor only)

each in its own session (process group) with stdout/stderr in AIRFLOW_HOME/logs/components/<name>.log,
records their PIDs in AIRFLOW_HOME/stack.pids.json and waits until they are healthy (the api-server's
/api/v2/monitor/health reports the metadatabase, scheduler, triggerer and dag-processor healthy, the
scheduler's own /health answers, and the Celery worker answers `celery inspect ping`). `stop()` sends
SIGTERM to every process group (and to every descendant seen, in case a task changed its session),
waits, then SIGKILLs what is left; `leftovers()` lists any process it started that still exists.

Nothing binds to 0.0.0.0: the api-server and the scheduler health server listen on 127.0.0.1, the
log servers of the scheduler, triggerer and worker are not started (the components share one
AIRFLOW_HOME/logs folder, from which the api-server reads task logs directly).

REST API auth (SimpleAuthManager, Airflow 3.3): the stack configures one user, ``admin`` with role
admin (``[core] simple_auth_manager_users``), whose password is in the passwords file the stack writes
(``[core] simple_auth_manager_passwords_file`` = AIRFLOW_HOME/passwords.json). A JWT comes from
``POST /auth/token`` with ``{"username": "admin", "password": ...}`` and is sent as
``Authorization: Bearer <token>`` to ``/api/v2/...``; it is signed with ``[api_auth] jwt_secret``,
which every component shares (the scheduler also signs the task tokens the workers present to the
execution API at ``[core] execution_api_server_url``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maturity.airflow_local import NO_TELEMETRY
from maturity.settings import ENV_KEY, ENV_KEY_FILE, ENV_LANDING, ENV_WAREHOUSE, PROJECT_ROOT

HOST = "127.0.0.1"
USERNAME = "admin"
CELERY_APP = "airflow.providers.celery.executors.celery_executor.app"
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
PIDS_FILE = "stack.pids.json"
SECRETS_FILE = "stack.secrets.json"
PASSWORDS_FILE = "passwords.json"
TERMINAL = {"success", "failed"}
DEFAULT_POOLS = {"maturity_warehouse": 1}


class StackError(RuntimeError):
    """A component did not start, died, or a REST call failed; the message carries the log tails."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_in_use(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _bin(name: str) -> str:
    """An executable of this virtualenv (next to the running interpreter, symlinks not resolved)."""
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else name


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


@dataclass
class StackConfig:
    """Everything a stack needs; build one with :meth:`local` or :meth:`production`."""

    airflow_home: Path
    preset: str = "local"
    executor: str = "LocalExecutor"
    database_url: str | None = None  # None: SQLite in AIRFLOW_HOME/airflow.db
    broker_url: str | None = None  # CeleryExecutor only
    result_backend: str | None = None  # CeleryExecutor only; None: the metadata DB with a db+ prefix
    port: int = 0  # api-server port on 127.0.0.1; 0: a free one
    worker_concurrency: int = 2
    # `solo`: the worker runs each task from its main process. Under the default `prefork` pool a task runs
    # in a daemonic pool process, where the gates' and the report's forked helpers (ProcessPoolExecutor)
    # fail with "daemonic processes are not allowed to have children". One task at a time is what the
    # DuckDB warehouse allows anyway (one writer; docs/scaling.md).
    celery_pool: str = "solo"
    queue: str = "default"  # the Celery queue the tasks go to and the worker listens on
    dags_folder: Path = field(default_factory=lambda: PROJECT_ROOT / "dags")
    env: dict[str, str] = field(default_factory=dict)  # extra environment (MATURITY_*, AIRFLOW__* overrides)
    # pools created after the migration: the DAGs put every DuckDB writer in the one-slot maturity_warehouse
    pools: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_POOLS))
    start_timeout: float = 240.0
    stop_timeout: float = 30.0

    @classmethod
    def local(cls, airflow_home: Path, port: int = 8080, **kwargs: Any) -> StackConfig:
        """SQLite in AIRFLOW_HOME and LocalExecutor, no worker: what `make serve` runs."""
        return cls(airflow_home=Path(airflow_home), preset="local", executor="LocalExecutor", port=port, **kwargs)

    @classmethod
    def production(cls, airflow_home: Path, database_url: str, broker_url: str, result_backend: str | None = None,
                   port: int = 0, **kwargs: Any) -> StackConfig:
        """Postgres metadata DB, CeleryExecutor with a Redis broker, Celery results in Postgres."""
        return cls(airflow_home=Path(airflow_home), preset="production", executor="CeleryExecutor",
                   database_url=database_url, broker_url=broker_url, result_backend=result_backend, port=port,
                   **kwargs)

    @property
    def celery(self) -> bool:
        return self.executor.rsplit(".", 1)[-1] == "CeleryExecutor"


@dataclass
class Component:
    name: str
    argv: list[str]
    log: Path
    process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Stack:
    """The Airflow components of one AIRFLOW_HOME as child processes, plus a small REST client."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.home = Path(config.airflow_home).resolve()
        self.port = config.port or free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.components: list[Component] = []
        self._seen: dict[int, float] = {}  # pid -> create_time of every process seen under a component
        self._token: str | None = None
        self._client = None
        self.env: dict[str, str] = {}

    # ------------------------------------------------------------------ configuration
    @property
    def log_dir(self) -> Path:
        return self.home / "logs" / "components"

    @property
    def password(self) -> str:
        return json.loads((self.home / PASSWORDS_FILE).read_text())[USERNAME]

    def _secrets(self) -> dict[str, str]:
        """Secrets shared by every component, created once per AIRFLOW_HOME and reused (mode 600)."""
        path = self.home / SECRETS_FILE
        values = json.loads(path.read_text()) if path.exists() else {}
        if not {"jwt_secret", "api_secret_key", "fernet_key"} <= set(values):
            from cryptography.fernet import Fernet

            values = {"jwt_secret": secrets.token_urlsafe(48), "api_secret_key": secrets.token_urlsafe(32),
                      "fernet_key": Fernet.generate_key().decode(), **values}
            _write_private(path, json.dumps(values, indent=2) + "\n")
        passwords = self.home / PASSWORDS_FILE
        users = json.loads(passwords.read_text()) if passwords.exists() else {}
        if USERNAME not in users:
            users[USERNAME] = secrets.token_urlsafe(12)
            _write_private(passwords, json.dumps(users) + "\n")
        return values

    def build_env(self) -> dict[str, str]:
        """The environment every component (and every `airflow` CLI call of this stack) runs with.

        Inherited AIRFLOW__* variables are dropped so that a stack is fully described by its config;
        `config.env` is applied last (MATURITY_* settings, or any AIRFLOW__* override).
        """
        cfg = self.config
        self.home.mkdir(parents=True, exist_ok=True)
        sec = self._secrets()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__") and k != "AIRFLOW_HOME"}
        database = cfg.database_url or f"sqlite:///{self.home / 'airflow.db'}"
        env.update({
            "AIRFLOW_HOME": str(self.home),
            "PYTHONUNBUFFERED": "1",
            "AIRFLOW__CORE__DAGS_FOLDER": str(Path(cfg.dags_folder).resolve()),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTOR": cfg.executor,
            "AIRFLOW__CORE__FERNET_KEY": sec["fernet_key"],
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / PASSWORDS_FILE),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database,
            "AIRFLOW__API__HOST": HOST,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__SECRET_KEY": sec["api_secret_key"],
            "AIRFLOW__API_AUTH__JWT_SECRET": sec["jwt_secret"],
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": HOST,
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
            # not served (--skip-serve-logs), but never a fixed port another engineer's Airflow may hold
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": cfg.queue,
        })
        if cfg.celery:
            if not cfg.broker_url:
                raise StackError("CeleryExecutor needs a broker URL (e.g. redis://127.0.0.1:6379/0).")
            backend = cfg.result_backend or ("db+" + database if cfg.database_url else None)
            env.update({
                "AIRFLOW__CELERY__BROKER_URL": cfg.broker_url,
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(cfg.worker_concurrency),
                "AIRFLOW__CELERY__POOL": cfg.celery_pool,
                **({"AIRFLOW__CELERY__RESULT_BACKEND": backend} if backend else {}),
            })
        env.update(NO_TELEMETRY)  # nothing leaves the machine (Cosmos/Scarf analytics, dbt usage stats)
        env.update({k: str(v) for k, v in cfg.env.items()})
        return env

    def _components(self) -> list[Component]:
        airflow = _bin("airflow")
        parts = [
            ("api-server", [airflow, "api-server", "-H", HOST, "-p", str(self.port)]),
            ("scheduler", [airflow, "scheduler", "--skip-serve-logs"]),
            ("dag-processor", [airflow, "dag-processor"]),
            ("triggerer", [airflow, "triggerer", "--skip-serve-logs"]),
        ]
        if self.config.celery:
            parts.append(("worker", [airflow, "celery", "worker", "--concurrency", str(self.config.worker_concurrency),
                                     "--skip-serve-logs", "--queues", self.config.queue,
                                     "--celery-hostname", self.celery_hostname,
                                     "--without-gossip", "--without-mingle"]))
        return [Component(name, argv, self.log_dir / f"{name}.log") for name, argv in parts]

    @property
    def celery_hostname(self) -> str:
        return f"maturity-{self.port}@{socket.gethostname()}"

    # ------------------------------------------------------------------ lifecycle
    def airflow(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        """Run an `airflow` CLI command with this stack's environment."""
        env = self.env or self.build_env()
        proc = subprocess.run([_bin("airflow"), *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise StackError(f"`airflow {' '.join(args)}` failed ({proc.returncode}):\n{proc.stdout[-2000:]}"
                             f"\n{proc.stderr[-4000:]}")
        return proc

    def start(self) -> Stack:
        self._refuse_if_running()
        if port_in_use(self.port):
            raise StackError(f"Port {HOST}:{self.port} is in use: choose another (--port).")
        self.env = self.build_env()
        self._preflight()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        migrate = self.airflow("db", "migrate", timeout=600)
        (self.log_dir / "db-migrate.log").write_text(migrate.stdout + migrate.stderr)
        for name, slots in self.config.pools.items():
            self.airflow("pools", "set", name, str(slots), f"created by maturity.stack ({name})")
        try:
            for comp in self._components():
                comp.log.parent.mkdir(parents=True, exist_ok=True)
                with open(comp.log, "ab") as out:
                    comp.process = subprocess.Popen(comp.argv, env=self.env, cwd=PROJECT_ROOT, stdout=out,
                                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                    start_new_session=True)
                self.components.append(comp)
                self._remember(comp.pid)
            self._write_pids()
            self.wait_healthy(self.config.start_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _preflight(self) -> None:
        """Fail with one sentence, before anything starts, on the two installation gaps met here."""
        url = self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        if url.startswith("postgresql") and not self.env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"):
            probe = "import importlib.util as u, sys; sys.exit(0 if u.find_spec('asyncpg') else 1)"
            if subprocess.run([sys.executable, "-c", probe], env=self.env, timeout=60).returncode != 0:
                raise StackError("Airflow 3 opens the Postgres metadata DB with an async driver as well "
                                 "([database] sql_alchemy_conn_async, derived as postgresql+asyncpg://): install "
                                 "asyncpg (apache-airflow-providers-postgres depends on it).")
        if self.config.celery:
            probe = "import airflow.providers.celery.executors.celery_executor_utils"
            proc = subprocess.run([sys.executable, "-c", probe], env=self.env, capture_output=True, text=True,
                                  timeout=120)
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or ["?"])[-1]
                raise StackError(f"The Celery provider does not import with the installed celery ({last}); "
                                 "apache-airflow-providers-celery 3.26.0 needs celery<5.7 (5.7.0 removed "
                                 "celery.backends.database.retry).")

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def pids(self) -> dict[str, int]:
        return {c.name: c.pid for c in self.components if c.pid}

    def _write_pids(self) -> None:
        data = {"base_url": self.base_url, "pids": self.pids(),
                "create_times": {str(p): t for p, t in self._seen.items()}}
        (self.home / PIDS_FILE).write_text(json.dumps(data, indent=2) + "\n")

    def _refuse_if_running(self) -> None:
        alive = _alive_from_pid_file(self.home)
        if alive:
            raise StackError(f"A stack started from {self.home} is still running (PIDs {sorted(alive)}): "
                             f"stop it first with `python -m maturity.stack stop --home {self.home}`.")

    def _remember(self, pid: int | None) -> None:
        import psutil

        if pid is None:
            return
        with contextlib.suppress(psutil.NoSuchProcess):
            self._seen[pid] = psutil.Process(pid).create_time()

    def _snapshot_descendants(self) -> list[int]:
        import psutil

        found = []
        for comp in self.components:
            if not comp.pid:
                continue
            try:
                kids = psutil.Process(comp.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                continue
            for kid in kids:
                try:
                    self._seen.setdefault(kid.pid, kid.create_time())
                    found.append(kid.pid)
                except psutil.NoSuchProcess:
                    pass
        return found

    def check_alive(self) -> None:
        """Raise (with the log tail) if a component has exited."""
        for comp in self.components:
            if comp.process is not None and comp.process.poll() is not None:
                raise StackError(f"{comp.name} exited with {comp.process.returncode}:\n{_tail(comp.log)}")

    def stop(self, timeout: float | None = None) -> list[int]:
        """Stop everything this stack started; returns the PIDs that had to be SIGKILLed."""
        timeout = self.config.stop_timeout if timeout is None else timeout
        self._snapshot_descendants()
        if self._client is not None:
            self._client.close()
            self._client = None
        for comp in self.components:
            if comp.running():
                _signal_group(comp.pid, signal.SIGTERM)
        _signal_pids(self._outside_groups(), signal.SIGTERM)  # a descendant that left its group
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (any(c.running() for c in self.components) or self.leftovers()):
            self._snapshot_descendants()
            time.sleep(0.25)
        killed = []
        for comp in self.components:
            if comp.running():
                _signal_group(comp.pid, signal.SIGKILL)
                killed.append(comp.pid)
        rest = self.leftovers()
        _signal_pids(rest, signal.SIGKILL)
        killed += rest
        for comp in self.components:
            if comp.process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    comp.process.wait(timeout=10)
        end = time.monotonic() + 10
        while self.leftovers() and time.monotonic() < end:
            time.sleep(0.2)
        if not self.leftovers():
            (self.home / PIDS_FILE).unlink(missing_ok=True)
        return killed

    def _outside_groups(self) -> list[int]:
        groups = {c.pid for c in self.components if c.pid}
        out = []
        for pid in self.leftovers():
            try:
                if os.getpgid(pid) not in groups:
                    out.append(pid)
            except ProcessLookupError:
                pass
        return out

    def leftovers(self) -> list[int]:
        """PIDs started by this stack (components and every descendant seen) that still exist."""
        return _alive(self._seen)

    # ------------------------------------------------------------------ health
    def health(self) -> dict[str, Any]:
        import httpx

        return httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()

    def wait_healthy(self, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        want = {"metadatabase", "scheduler", "triggerer", "dag_processor"}
        status: Any = "no answer"
        sched_port = self.env["AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT"]
        worker_ok = not self.config.celery
        while time.monotonic() < deadline:
            self.check_alive()
            self._snapshot_descendants()
            try:
                status = self.health()
                healthy = {k for k in want if (status.get(k) or {}).get("status") == "healthy"}
                sched = httpx.get(f"http://{HOST}:{sched_port}/health", timeout=5).status_code == 200
            except (httpx.HTTPError, ValueError) as exc:
                status, healthy, sched = repr(exc), set(), False
            if healthy == want and sched:
                worker_ok = worker_ok or self.celery_ping()
                if worker_ok:
                    self._write_pids()
                    return
            time.sleep(1)
        raise StackError(f"The stack was not healthy after {timeout:.0f} s: {status}\n{self.log_tails()}")

    def celery_ping(self) -> bool:
        proc = subprocess.run([_bin("celery"), "--app", CELERY_APP, "inspect", "ping", "-d",
                               self.celery_hostname, "--timeout", "5"],
                              env=self.env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
        return proc.returncode == 0 and "pong" in proc.stdout

    def log_tails(self, lines: int = 30) -> str:
        return "\n".join(f"--- {c.name} ({c.log}) ---\n{_tail(c.log, lines)}" for c in self.components)

    # ------------------------------------------------------------------ REST API v2
    def api_token(self, refresh: bool = False) -> str:
        """A JWT for the REST API: POST /auth/token with the admin user's name and password."""
        import httpx

        if self._token and not refresh:
            return self._token
        resp = httpx.post(f"{self.base_url}/auth/token", json={"username": USERNAME, "password": self.password},
                          timeout=30)
        if resp.status_code not in (200, 201):
            raise StackError(f"POST /auth/token answered {resp.status_code}: {resp.text[:500]}")
        self._token = resp.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """One REST call under /api/v2 (path relative to it), with the bearer token; returns the JSON."""
        import httpx

        if self._client is None:
            self._client = httpx.Client(base_url=f"{self.base_url}/api/v2", timeout=60)
        for attempt in (0, 1):
            headers = {"Authorization": f"Bearer {self.api_token(refresh=attempt > 0)}"}
            resp = self._client.request(method, path, headers=headers, **kwargs)
            if resp.status_code != 401:
                break
        if resp.status_code >= 400:
            raise StackError(f"{method} /api/v2{path} answered {resp.status_code}: {resp.text[:1000]}")
        return resp.json() if resp.content else None

    def dag(self, dag_id: str) -> dict | None:
        try:
            return self.api("GET", f"/dags/{dag_id}")
        except StackError as exc:
            if "answered 404" in str(exc):
                return None
            raise

    def wait_for_dags(self, dag_ids: Iterable[str], timeout: float = 180) -> dict[str, dict]:
        """Wait until the dag-processor has parsed every DAG; fail early on import errors."""
        deadline = time.monotonic() + timeout
        dag_ids = list(dag_ids)
        while True:
            self.check_alive()
            found = {d: self.dag(d) for d in dag_ids}
            if all(found.values()):
                return found  # type: ignore[return-value]
            if time.monotonic() > deadline:
                errors = self.import_errors()
                raise StackError(f"DAGs not parsed after {timeout:.0f} s: "
                                 f"{[d for d, v in found.items() if not v]}; import errors: {errors}\n"
                                 f"{self.log_tails()}")
            time.sleep(2)

    def import_errors(self) -> list[dict]:
        return self.api("GET", "/importErrors").get("import_errors", [])

    def unpause(self, dag_id: str) -> dict:
        return self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger_dag(self, dag_id: str, conf: Mapping[str, Any] | None = None) -> dict:
        """POST /dags/{dag_id}/dagRuns (no logical date: a manual run 'now'); returns the DAG run."""
        return self.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": dict(conf or {})})

    def dag_runs(self, dag_id: str, limit: int = 100) -> list[dict]:
        """The DAG's runs, newest first (dag_run_id, state, run_type, start_date, end_date, ...)."""
        data = self.api("GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "-run_after", "limit": limit})
        return data.get("dag_runs", [])

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances").get("task_instances", [])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 900, poll: float = 3) -> dict:
        """Wait until the run is success or failed; returns the run (raises on timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            run = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] in TERMINAL:
                return run
            if time.monotonic() > deadline:
                raise StackError(f"{dag_id} run {run_id} still {run['state']} after {timeout:.0f} s\n"
                                 f"{self.log_tails()}")
            time.sleep(poll)

    def print_login(self, out: Any = sys.stdout) -> None:
        print(f"""
Airflow UI:  {self.base_url}
  log in as  {USERNAME} / {self.password}   (kept in {self.home / PASSWORDS_FILE})
REST API v2: get a token, then send it as a bearer token:
  TOKEN=$(curl -s -X POST {self.base_url}/auth/token -H 'Content-Type: application/json' \\
          -d '{{"username": "{USERNAME}", "password": "{self.password}"}}' \\
          | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -s -H "Authorization: Bearer $TOKEN" {self.base_url}/api/v2/dags
Component logs: {self.log_dir}/   PIDs: {self.pids()}
Stop with Ctrl-C (every process is stopped by PID).
""", file=out, flush=True)


# ---------------------------------------------------------------------- process helpers
def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def _signal_group(pid: int | None, sig: int) -> None:
    if not pid:
        return
    try:
        os.killpg(pid, sig)  # start_new_session=True: the group id is the component's pid
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _signal_pids(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _alive(seen: Mapping[int, float]) -> list[int]:
    """Which of these (pid, create_time) processes still exist (zombies and reused PIDs do not count)."""
    import psutil

    alive = []
    for pid, created in seen.items():
        try:
            proc = psutil.Process(pid)
            if abs(proc.create_time() - created) < 0.01 and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _alive_from_pid_file(home: Path) -> dict[int, float]:
    path = Path(home) / PIDS_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        seen = {int(p): float(t) for p, t in data.get("create_times", {}).items()}
    except (ValueError, OSError):
        return {}
    return {p: seen[p] for p in _alive(seen)}


def stop_from_pid_file(home: Path, timeout: float = 30) -> list[int]:
    """Stop a stack whose parent process is gone, from the PIDs it recorded; returns what was signalled."""
    alive = _alive_from_pid_file(home)
    data = json.loads((Path(home) / PIDS_FILE).read_text()) if alive else {}
    for pid in data.get("pids", {}).values():
        if pid in alive:
            _signal_group(pid, signal.SIGTERM)
    _signal_pids(alive, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(alive) and time.monotonic() < deadline:
        time.sleep(0.25)
    rest = _alive(alive)
    for pid in rest:
        _signal_group(pid, signal.SIGKILL)
    _signal_pids(rest, signal.SIGKILL)
    if not _alive(alive):
        (Path(home) / PIDS_FILE).unlink(missing_ok=True)
    return sorted(alive)


# ---------------------------------------------------------------------- command line
DEFAULT_SERVE_HOME = PROJECT_ROOT / ".airflow" / "serve"


def _maturity_env(args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith("MATURITY_")}
    if args.landing:
        env[ENV_LANDING] = str(Path(args.landing).resolve())
    if args.warehouse:
        env[ENV_WAREHOUSE] = str(Path(args.warehouse).resolve())
    if args.key_file:
        env[ENV_KEY_FILE] = str(Path(args.key_file).resolve())
        env.pop(ENV_KEY, None)
    for name in (ENV_LANDING, ENV_WAREHOUSE, ENV_KEY_FILE):  # the tasks run with another cwd
        if env.get(name):
            env[name] = str(Path(env[name]).resolve())
    return env


def cmd_serve(args: argparse.Namespace) -> int:
    if args.preset == "production":
        if not (args.database_url and args.broker_url):
            print("--preset production needs --database-url and --broker-url", file=sys.stderr)
            return 2
        config = StackConfig.production(Path(args.home), args.database_url, args.broker_url, port=args.port,
                                        env=_maturity_env(args), queue=args.queue)
    else:
        config = StackConfig.local(Path(args.home), port=args.port, env=_maturity_env(args))
    stack = Stack(config)
    stop = {"signal": None}

    def on_signal(signum: int, _frame: object) -> None:
        stop["signal"] = signum
        raise KeyboardInterrupt

    # SIGINT too: a shell that starts `make serve` in the background leaves SIGINT ignored, and then
    # Python would not raise KeyboardInterrupt on Ctrl-C.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    started = time.monotonic()
    try:
        print(f"Starting Airflow ({config.preset}: {config.executor}) in {stack.home} ...", flush=True)
        stack.start()
        print(f"Healthy after {time.monotonic() - started:.1f} s.", flush=True)
        stack.print_login()
        while True:
            stack.check_alive()
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopping ...", flush=True)
        return 0
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the cleanup
        killed = stack.stop()
        left = stack.leftovers()
        print(f"Stopped {len(stack._seen)} processes by PID"
              + (f" ({len(killed)} needed SIGKILL)" if killed else "")
              + (f"; STILL RUNNING: {left}" if left else "; none left."), flush=True)


def cmd_stop(args: argparse.Namespace) -> int:
    pids = stop_from_pid_file(Path(args.home))
    print(f"Stopped {pids}" if pids else f"No running stack recorded in {Path(args.home) / PIDS_FILE}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m maturity.stack", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the Airflow components and keep them running until Ctrl-C")
    serve.add_argument("--preset", choices=["local", "production"], default="local")
    serve.add_argument("--home", default=str(DEFAULT_SERVE_HOME), help="AIRFLOW_HOME (default: .airflow/serve)")
    serve.add_argument("--port", type=int, default=8080, help="api-server port on 127.0.0.1")
    serve.add_argument("--landing", help=f"sets {ENV_LANDING}")
    serve.add_argument("--warehouse", help=f"sets {ENV_WAREHOUSE}")
    serve.add_argument("--key-file", help=f"sets {ENV_KEY_FILE}")
    serve.add_argument("--database-url", help="production: e.g. postgresql+psycopg2://postgres@127.0.0.1/airflow")
    serve.add_argument("--broker-url", help="production: e.g. redis://127.0.0.1:6379/0")
    serve.add_argument("--queue", default="default", help="production: the Celery queue")
    serve.set_defaults(func=cmd_serve)
    stop = sub.add_parser("stop", help="stop a stack left running, from the PIDs it recorded")
    stop.add_argument("--home", default=str(DEFAULT_SERVE_HOME))
    stop.set_defaults(func=cmd_stop)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_time(value: str | None) -> dt.datetime | None:
    """An ISO timestamp from the REST API (``...Z`` or ``+00:00``) as an aware datetime."""
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


if __name__ == "__main__":
    sys.exit(main())
