"""One settings object built from the environment (and, inside Airflow tasks, Airflow Variables).

Why one object: the CLI, the DAG tasks and the tests must resolve the landing area, the
warehouse and the pseudonym key identically, otherwise a run from the CLI and a run from the
scheduler would write to different places.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from maturity.errors import ConfigError

ENV_LANDING = "MATURITY_LANDING_DIR"
ENV_WAREHOUSE = "MATURITY_WAREHOUSE_DIR"
ENV_KEY = "MATURITY_PSEUDONYM_KEY"
ENV_KEY_FILE = "MATURITY_PSEUDONYM_KEY_FILE"

#: The repository root when the package is installed editable from a clone (src layout).
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse_dir: Path
    pseudonym_key_hex: str | None = None

    @property
    def warehouse_db(self) -> Path:
        """The working DuckDB file the pipeline writes (raw, staging, marts). BI never reads it."""
        return self.warehouse_dir / "warehouse.duckdb"

    @property
    def runs_dir(self) -> Path:
        return self.warehouse_dir / "runs"

    def pseudonym_key(self) -> bytes:
        """The HMAC key; a missing or malformed key is a configuration error, never a silent default."""
        if not self.pseudonym_key_hex:
            raise ConfigError(
                f"No pseudonym key: set {ENV_KEY} (hex) or {ENV_KEY_FILE} (a file holding the hex key); "
                "`maturity keygen --file PATH` creates one."
            )
        try:
            key = bytes.fromhex(self.pseudonym_key_hex.strip())
        except ValueError:
            raise ConfigError(f"{ENV_KEY} is not a hexadecimal string.") from None
        if len(key) < 16:
            raise ConfigError(f"{ENV_KEY} is too short: use at least 16 bytes (32 hex digits).")
        return key


def _read_key_file(path: str) -> str:
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"{ENV_KEY_FILE} points to {p}, which does not exist.")
    return p.read_text(encoding="ascii").strip()


def load_settings(
    landing: str | Path | None = None,
    warehouse: str | Path | None = None,
    lookup: Callable[[str], str | None] | None = None,
) -> Settings:
    """Resolve settings: explicit arguments, then the environment, then `lookup` (Airflow Variables).

    `lookup` receives the lower-case variable name (e.g. ``maturity_landing_dir``) so that a data
    engineer can configure a deployment from the Airflow UI without touching the environment.
    """

    def get(name: str) -> str | None:
        value = os.environ.get(name)
        if not value and lookup is not None:
            value = lookup(name.lower())
        return value or None

    landing_dir = Path(landing or get(ENV_LANDING) or PROJECT_ROOT / "landing")
    warehouse_dir = Path(warehouse or get(ENV_WAREHOUSE) or PROJECT_ROOT / "warehouse")
    key = get(ENV_KEY)
    if not key and (key_file := get(ENV_KEY_FILE)):
        key = _read_key_file(key_file)
    return Settings(landing_dir.resolve(), warehouse_dir.resolve(), key)


def create_key_file(path: Path) -> bool:
    """Create a random 256-bit key file (mode 600) unless it exists; return True if created."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return True
