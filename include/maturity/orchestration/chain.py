"""Which pipeline run a DAG run belongs to.

One landing drop flows through four DAG runs (ingest → transform → publish → report), each with its
own Airflow run_id. They share the *chain id*: the run_id of the `maturity_ingest` run that started
the chain. It is stamped on every mart row, names the run records under `<warehouse>/runs/` and the
gate results, and travels from DAG to DAG in the extra of the Asset events (or, under `maturity run`,
which runs the DAGs one after another in-process, in the run conf).
"""

from __future__ import annotations

from typing import Any

CHAIN_KEYS = ("chain_run_id", "force", "wave")


def chain_of(context: dict[str, Any]) -> dict[str, Any]:
    """{"chain_run_id", "force", "wave"} for this DAG run, from its conf, its triggering Asset events or itself."""
    dag_run = context.get("dag_run")
    conf = dict(getattr(dag_run, "conf", None) or {})
    if conf.get("chain_run_id"):
        return {k: conf.get(k) for k in CHAIN_KEYS}
    for events in (context.get("triggering_asset_events") or {}).values():
        for event in reversed(list(events)):
            extra = dict(getattr(event, "extra", None) or {})
            if extra.get("chain_run_id"):
                return {k: extra.get(k) for k in CHAIN_KEYS}
    params = context.get("params") or {}
    return {"chain_run_id": context["run_id"], "force": bool(params.get("force")), "wave": params.get("wave") or None}


def emit(context: dict[str, Any], asset: Any, chain: dict[str, Any], **details: Any) -> None:
    """Attach the chain to the outlet event this task emits, so the next DAG knows which run it continues."""
    context["outlet_events"][asset].extra = {**chain, **details}
