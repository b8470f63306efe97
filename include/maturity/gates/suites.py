"""The JSON suites in expectations/ and the one GX context a gate validates them with.

A suite file is GX 1.x's own suite JSON (``ExpectationSuite.to_json_dict()`` shape, loadable with
``ExpectationSuite(**dict)``) with two conventions of ours:

- every expectation has ``meta.severity``: ``error`` blocks the gate, ``warning`` is recorded and shown;
- the suite's ``meta`` names its ``gate`` (``raw`` or ``mart``), the ``table`` it describes and the ``key``
  columns that identify a row in failure examples.

Expectations may use GX suite parameters (``{"$PARAMETER": "name"}``); the runner fills them in
(``min_cell``, ``publish_run_id``, ``previous_row_count_min``/``_max``). An expectation whose parameter is
not available (no previous publish) is skipped and listed as skipped, never silently passed.

Reading and checking the JSON needs no GX; :class:`Validator` imports GX (~3 s) on first use only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maturity.errors import MaturityError
from maturity.settings import PROJECT_ROOT

if TYPE_CHECKING:
    import pandas as pd

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
SEVERITIES = ("error", "warning")
GATES = ("raw", "mart")


@dataclass(frozen=True)
class SuiteSpec:
    """One suite file: its GX JSON plus what the gate needs to know about it."""

    name: str
    gate: str
    table: str
    key: tuple[str, ...]
    description: str
    data: dict[str, Any]
    path: Path
    # meta.partition: the suite is validated one value of this column at a time (runner._raw_plan); `rows`
    # is then the SQL condition on the suite's table that selects this part's rows
    partition: str | None = None
    rows: str | None = None

    @property
    def expectations(self) -> list[dict[str, Any]]:
        return self.data["expectations"]

    def part(self, value: Any, condition: str) -> SuiteSpec:
        """This suite on the rows whose partition column is `value` (`condition` in SQL), named
        `suite[column=value]` in every result and report."""
        return replace(self, name=f"{self.name}[{self.partition}={'NULL' if value is None else value}]",
                       rows=condition)


def _parameters_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        if set(value) == {"$PARAMETER"}:
            return {str(value["$PARAMETER"])}
        return set().union(*(_parameters_in(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_parameters_in(v) for v in value)) if value else set()
    return set()


def expectation_parameters(expectation: Mapping[str, Any]) -> set[str]:
    """Names of the suite parameters an expectation uses."""
    return _parameters_in(expectation.get("kwargs", {}))


def check_suite(data: Mapping[str, Any], path: Path) -> list[str]:
    """Problems with a suite file's conventions (empty when it is fine)."""
    problems = []
    meta = data.get("meta") or {}
    if data.get("name") != path.stem:
        problems.append(f"name {data.get('name')!r} differs from the file name {path.stem!r}")
    if meta.get("gate") not in GATES:
        problems.append(f"meta.gate must be one of {GATES}")
    if not meta.get("table"):
        problems.append("meta.table is missing")
    if not isinstance(meta.get("key"), list):
        problems.append("meta.key must be a list of column names")
    if "partition" in meta and not (isinstance(meta["partition"], str) and isinstance(meta.get("key"), list)
                                    and meta["partition"] in meta["key"]):
        problems.append("meta.partition must be one of the meta.key columns")
    expectations = data.get("expectations")
    if not isinstance(expectations, list) or not expectations:
        problems.append("no expectations")
        return problems
    for i, exp in enumerate(expectations):
        severity = (exp.get("meta") or {}).get("severity")
        if severity not in SEVERITIES:
            problems.append(f"expectation {i} ({exp.get('type')}) has meta.severity {severity!r}, "
                            f"not one of {SEVERITIES}")
    return problems


def load_specs(gate: str | None = None, directory: Path | None = None) -> dict[str, SuiteSpec]:
    """Every suite in `directory` (default expectations/), optionally of one gate, by name."""
    directory = Path(directory or EXPECTATIONS_DIR)
    paths = sorted(directory.glob("*.json"))
    if not paths:
        raise MaturityError(f"No expectation suites found in {directory}.")
    specs: dict[str, SuiteSpec] = {}
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise MaturityError(f"Expectation suite {path.name} cannot be read: {exc}") from exc
        problems = check_suite(data, path)
        if problems:
            raise MaturityError(f"Expectation suite {path.name} is malformed: {'; '.join(problems)}.")
        meta = data["meta"]
        if gate is None or meta["gate"] == gate:
            specs[data["name"]] = SuiteSpec(data["name"], meta["gate"], meta["table"], tuple(meta["key"]),
                                            meta.get("description", ""), data, path, meta.get("partition"))
    return specs


def runnable(spec: SuiteSpec, parameters: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The suite JSON without the expectations whose parameters are missing, and those skipped expectations."""
    keep, skipped = [], []
    for exp in spec.expectations:
        (keep if expectation_parameters(exp) <= set(parameters) else skipped).append(exp)
    return {**spec.data, "expectations": keep}, skipped


def _gx_severity(severity: str) -> str:
    """GX 1.x's own severity field, kept in line with meta.severity (ours decides)."""
    return "critical" if severity == "error" else "warning"


# Imported by GX at module level, but only used inside expectations and renderers no suite of ours has
# (KL divergence, KS tests): loading them is deferred to their first use.
DEFERRED_IMPORTS = ("scipy.stats",)


def _defer_unused_imports() -> None:
    """Register DEFERRED_IMPORTS as lazy modules (importlib.util.LazyLoader) unless already imported.

    `import great_expectations` spends ~40 % of its time importing scipy.stats (~1–2.5 s here) for the
    KL-divergence expectation. A lazy module is executed in full on its first attribute access, so
    anything that does use scipy.stats gets the real module, only later; nothing else changes.
    """
    import importlib.util
    import sys

    for name in DEFERRED_IMPORTS:
        if name in sys.modules:
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None or spec.loader is None:
            continue
        spec.loader = importlib.util.LazyLoader(spec.loader)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        parent, _, child = name.rpartition(".")
        if parent:  # as the import system does: `from scipy import stats` then finds it without loading it
            setattr(sys.modules[parent], child, module)


class Validator:
    """One ephemeral GX context and one pandas batch definition, reused for every frame of a gate.

    Building a context per frame costs far more than validating a frame; one per gate keeps ~25 frames
    to a few seconds.
    """

    def __init__(self) -> None:
        _defer_unused_imports()
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        self._gx = gx
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,  # no telemetry from a municipal server
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        )
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        asset = self.context.data_sources.add_pandas("maturity_gate").add_dataframe_asset("frame")
        self._batch_definition = asset.add_batch_definition_whole_dataframe("whole_frame")

    def suite(self, data: Mapping[str, Any]) -> Any:
        """A GX ExpectationSuite from suite JSON (``ExpectationSuite(**dict)``)."""
        expectations = [{**e, "severity": _gx_severity(e["meta"]["severity"])} for e in data["expectations"]]
        suite = self._gx.ExpectationSuite(**{**data, "expectations": expectations})
        if len(suite.expectations) != len(expectations):
            # GX logs and drops an expectation of an unknown type: a typo must not silently weaken a gate.
            known = {e.expectation_type for e in suite.expectations}
            lost = sorted({e["type"] for e in expectations} - known) or ["(see the GX log)"]
            raise MaturityError(f"Expectation suite {data.get('name')} has expectations GX does not know: "
                                f"{', '.join(lost)}.")
        return suite

    def validate(self, data: Mapping[str, Any], frame: pd.DataFrame, parameters: Mapping[str, Any]) -> Any:
        """Validate `frame` with the suite JSON `data`; returns GX's ExpectationSuiteValidationResult."""
        batch = self._batch_definition.get_batch(batch_parameters={"dataframe": frame})
        return batch.validate(self.suite(data), result_format={"result_format": "SUMMARY"},
                              expectation_parameters=dict(parameters))


def columns_checked_for_cpr(spec: SuiteSpec, regex: str) -> set[str]:
    return {e["kwargs"]["column"] for e in spec.expectations
            if e["type"] == "expect_column_values_to_not_match_regex" and e["kwargs"].get("regex") == regex}
