"""The Assets that chain the DAGs: landing → raw → marts → published → report.

Each DAG is scheduled on the Asset the previous one updates, so a stage runs exactly when its inputs
changed. The landing Asset carries an AssetWatcher: the triggerer notices new drops by itself.
"""

from __future__ import annotations

import os

from airflow.sdk import Asset, AssetWatcher

from maturity.landing_watch import STATE_FILE, LandingDropTrigger
from maturity.settings import load_settings

ENV_POLL = "MATURITY_LANDING_POLL_SECONDS"


def _landing_asset() -> Asset:
    # Parse time: the environment only (no metadata DB access while a DAG file is parsed).
    settings = load_settings()
    trigger = LandingDropTrigger(landing_dir=str(settings.landing_dir),
                                 state_file=str(settings.warehouse_dir / STATE_FILE),
                                 poke_interval=float(os.environ.get(ENV_POLL, "30")))
    return Asset(name="maturity_landing", uri="maturity://landing",
                 watchers=[AssetWatcher(name="maturity_landing_drops", trigger=trigger)])


LANDING = _landing_asset()
RAW = Asset(name="maturity_raw", uri="maturity://warehouse/raw")
MARTS = Asset(name="maturity_marts", uri="maturity://warehouse/marts")
PUBLISHED = Asset(name="maturity_published", uri="maturity://published/marts")
REPORTS = Asset(name="maturity_reports", uri="maturity://published/reports")
