"""The two quality gates: raw (after ingest, before dbt) and mart (the Parquet set about to be published).

    result = run_raw_gate(settings.warehouse_db, out_dir)
    result = run_mart_gate(parquet_dir, previous_parquet_dir, out_dir, audit_db=settings.warehouse_db)
    if not result.passed: ...            # result.summary() for the log, result.blocking_sentence() for users

Each gate loads its suites from expectations/, builds one frame per suite in DuckDB (frames.py),
validates every frame with one GX context (suites.py), and writes ``out_dir/<gate>_gate.json`` (the full
validation results) and ``out_dir/<gate>_gate.html``. Failures of ``error`` severity block
(``passed`` is False); ``warning`` failures are recorded and shown but never block. The mart gate adds
the SPEC §3.9 privacy audit (audit.py) as blocking checks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from maturity import forked
from maturity.errors import MaturityError
from maturity.gates import frames as frame_sql
from maturity.gates import reuse
from maturity.gates.audit import MAX_EXAMPLES, AuditCache, AuditOutcome, audit_capacity, audit_survey
from maturity.gates.cpr import CPR_REGEX, redact
from maturity.gates.report import write_html, write_json
from maturity.gates.suites import SuiteSpec, Validator, expectation_parameters, load_specs, runnable
from maturity.settings import PROJECT_ROOT

DEFAULT_ROW_COUNT_TOLERANCE = 0.5
SUMMARY_LINES = 15
LINE_EXAMPLES = 2  # examples per failure in summary(); the reports have up to five
LINE_FIELDS = 9


@dataclass(frozen=True)
class Failure:
    """One failed expectation (or audit finding), with up to five example rows (CPR-shaped strings redacted)."""

    suite: str
    expectation: str
    column: str | None
    severity: str  # "error" blocks, "warning" does not
    unexpected_count: int | None  # rows (or findings) that broke it; None for table-level expectations
    element_count: int | None = None
    detail: str = ""
    examples: list[dict[str, Any]] = field(default_factory=list)
    notes: str | None = None

    @property
    def blocking(self) -> bool:
        return self.severity == "error"

    def line(self) -> str:
        """One readable line: which expectation, how many rows, a few examples."""
        what = f"{self.expectation}({self.column})" if self.column else self.expectation
        text = f"{self.severity.upper():7} {self.suite}: {what} — {self.detail}"
        if self.examples:
            shown = "; ".join(", ".join(f"{k}={v}" for k, v in list(ex.items())[:LINE_FIELDS]
                                        if k != "_load_id" and not (k == self.column and k.startswith("chk_")))
                              for ex in self.examples[:LINE_EXAMPLES])
            text += f"; e.g. {shown}"
        return str(redact(text))


@dataclass(frozen=True)
class SuiteOutcome:
    name: str
    table: str
    rows: int | None
    evaluated: int
    errors: int
    warnings: int
    skipped: int


@dataclass
class GateResult:
    """What a gate found. ``passed`` is True unless an error-severity expectation or audit check failed."""

    gate: str  # "raw" or "mart"
    source: str  # what was validated (the warehouse file or the Parquet directory)
    failures: list[Failure]
    suites: list[SuiteOutcome]
    skipped: list[str]
    evaluated: int
    seconds: float
    finished_at: str
    json_path: Path | None = None
    html_path: Path | None = None
    reused: list[str] = field(default_factory=list)  # suites whose result was reused (inputs unchanged)

    @property
    def passed(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == "error"]

    @property
    def warnings(self) -> list[Failure]:
        return [f for f in self.failures if f.severity != "error"]

    @property
    def title(self) -> str:
        return f"{self.gate.capitalize()} gate"

    def summary(self, max_lines: int = SUMMARY_LINES) -> str:
        """A few readable lines: the verdict, then each failure (errors first) with counts and examples."""
        verdict = "passed" if self.passed else "BLOCKED"
        reused = f"{len(self.reused)} suites' results reused (inputs unchanged), " if self.reused else ""
        lines = [f"{self.title} {verdict}: {len(self.errors)} error(s), {len(self.warnings)} warning(s) in "
                 f"{len(self.suites)} suites ({self.evaluated} expectations, {len(self.skipped)} skipped, "
                 f"{reused}{self.seconds:.1f} s)."]
        ordered = self.errors + self.warnings
        lines += ["  " + f.line() for f in ordered[:max_lines]]
        if len(ordered) > max_lines:
            lines.append(f"  … and {len(ordered) - max_lines} more")
        if self.html_path:
            lines.append(f"Report: {self.html_path}")
        return "\n".join(lines)

    def blocking_sentence(self) -> str:
        """One sentence for a user when the gate blocks (empty when it passed)."""
        if self.passed:
            return ""
        first = self.errors[0]
        what = f"{first.expectation}({first.column})" if first.column else first.expectation
        more = f"; {len(self.errors) - 1} more error(s)" if len(self.errors) > 1 else ""
        where = f"; see {self.html_path}" if self.html_path else ""
        return str(redact(f"The {self.gate} quality gate blocked: {first.suite} failed {what} — "
                          f"{first.detail}{more}{where}."))

    def raise_if_blocked(self) -> None:
        if not self.passed:
            raise MaturityError(self.blocking_sentence())

    def to_dict(self) -> dict[str, Any]:
        return {
            "gate": self.gate, "source": self.source, "passed": self.passed, "finished_at": self.finished_at,
            "seconds": round(self.seconds, 3), "evaluated": self.evaluated, "summary": self.summary(),
            "errors": len(self.errors), "warnings": len(self.warnings),
            "failures": [asdict(f) for f in self.failures], "skipped": self.skipped,
            "suites": [asdict(s) for s in self.suites], "reused": self.reused,
            "json_path": str(self.json_path) if self.json_path else None,
            "html_path": str(self.html_path) if self.html_path else None,
        }


# --------------------------------------------------------------------------------------------------
# Turning GX results into failures
# --------------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON-friendly scalar: NaN/NA → None, numpy → Python, dates → ISO text, long text cut."""
    import pandas as pd

    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    with contextlib.suppress(TypeError, ValueError):  # pd.isna of an array is an array: not missing
        if pd.isna(value):
            return None
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:10] if text.endswith("T00:00:00") else text
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, str) and len(value) > 100:
        return value[:97] + "…"
    return value


def _columns(kwargs: Mapping[str, Any]) -> list[str]:
    if kwargs.get("column"):
        return [kwargs["column"]]
    if kwargs.get("column_list"):
        return list(kwargs["column_list"])
    return [kwargs[k] for k in ("column_A", "column_B") if kwargs.get(k)]


def _column_label(kwargs: Mapping[str, Any]) -> str | None:
    cols = _columns(kwargs)
    return ", ".join(cols) if cols else None


def _example_columns(columns: list[str], spec: SuiteSpec, checked: list[str]) -> list[str]:
    """Key, checked columns and lineage; for a prepared chk_* column the whole row (the cause is elsewhere)."""
    if any(c.startswith("chk_") for c in checked):
        base = [c for c in columns if not c.startswith("chk_") or c in checked]
    else:
        base = [*spec.key, *checked, "_file", "_line"]
    return [c for c in dict.fromkeys(base) if c in columns]


def _examples(frame: frame_sql.Frame, spec: SuiteSpec, kwargs: Mapping[str, Any], result: Mapping[str, Any]
              ) -> list[dict[str, Any]]:
    checked = _columns(kwargs)
    index = result.get("partial_unexpected_index_list") or []
    if index:
        cols = _example_columns(frame.columns, spec, checked)
        return [redact({c: _plain(row[c]) for c in cols}) for _, row in frame.cells(index[:MAX_EXAMPLES], cols)]
    if len(checked) == 1 and checked[0] in frame.columns:  # an aggregate over one column: show its values
        counts = frame.select([checked[0]])[checked[0]].value_counts(dropna=False).head(MAX_EXAMPLES)
        return [redact({checked[0]: _plain(v), "rows": int(n)}) for v, n in counts.items()]
    return []


def _expected(kwargs: Mapping[str, Any]) -> str:
    lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
    parts = []
    if lo is not None:
        parts.append(f"{'>' if kwargs.get('strict_min') else '≥'} {lo}")
    if hi is not None:
        parts.append(f"{'<' if kwargs.get('strict_max') else '≤'} {hi}")
    if "value_set" in kwargs:
        parts.append(f"in {list(kwargs['value_set'])}")
    if kwargs.get("regex") == CPR_REGEX:
        parts.append("no CPR-shaped string")
    elif "regex" in kwargs:
        parts.append(f"regex {kwargs['regex']}")
    return " and ".join(parts)


def _exception_message(info: Any) -> str | None:
    if not isinstance(info, Mapping):
        return None
    if info.get("raised_exception") and info.get("exception_message"):
        return str(info["exception_message"])
    for value in info.values():
        if isinstance(value, Mapping) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def _detail(type_: str, kwargs: Mapping[str, Any], result: Mapping[str, Any], exception: str | None) -> str:
    if exception:
        return f"could not be evaluated: {exception}"
    if result.get("unexpected_count") is not None:
        n, total = result["unexpected_count"], result.get("element_count")
        text = f"{n} of {total} rows unexpected"
        expected = _expected(kwargs)
        if expected and not str(kwargs.get("column", "")).startswith("chk_"):
            text += f" (expected {expected})"
        return text
    mismatch = (result.get("details") or {}).get("mismatched")
    if type_ == "expect_table_columns_to_match_set" and isinstance(mismatch, Mapping):
        return "; ".join(f"{k} columns: {', '.join(map(str, v))}" for k, v in mismatch.items() if v) or "mismatch"
    observed = result.get("observed_value")
    expected = _expected(kwargs)
    return f"observed {observed}" + (f", expected {expected}" if expected else "")


#: Table-level expectations that only look at the column names, or only at the number of rows.
_ON_COLUMN_NAMES = {"expect_table_columns_to_match_set", "expect_table_columns_to_match_ordered_list",
                    "expect_table_column_count_to_equal", "expect_table_column_count_to_be_between"}
_ON_ROW_COUNT = {"expect_table_row_count_to_be_between", "expect_table_row_count_to_equal"}


def _gx_order(expectations: list[dict[str, Any]]) -> list[int]:
    """The order GX validates (and returns) a suite's expectations in: grouped by their `column` kwarg, the
    groups in order of first appearance, expectations without one as a group of their own
    (Validator.process_expectations_for_validation)."""
    groups: dict[str, list[int]] = {}
    for i, exp in enumerate(expectations):
        column = exp["kwargs"].get("column")
        groups.setdefault(column if isinstance(column, str) else "\0no column", []).append(i)
    return [i for indices in groups.values() for i in indices]


def _validate_frame(validator: Validator, data: Mapping[str, Any], frame: frame_sql.Frame,
                    parameters: Mapping[str, Any]) -> Any:
    """GX's validation result of the suite `data` on `frame`.

    A large frame is validated one group of expectations at a time, each on a frame of only the columns
    it reads (same rows, same index): GX then never holds the whole table, nor one metric cache for all of
    it. Every expectation sees exactly what it reads in the whole frame, so its result is the same; the
    results are put back in suite order and the statistics recomputed as GX computes them.
    """
    expectations = data["expectations"]
    if not frame.grouped or not expectations:
        return validator.validate(data, frame.select(), parameters)
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.validator.validator import calc_validation_statistics

    order = _gx_order(expectations)
    groups: dict[tuple[str, ...], list[int]] = {}
    for i in order:
        exp = expectations[i]
        cols = _columns(exp["kwargs"])
        if cols and all(c in frame.columns for c in cols):
            key = tuple(dict.fromkeys(cols))
        elif not cols and exp["type"] in _ON_COLUMN_NAMES:
            key = ("<column names>",)
        elif not cols and exp["type"] in _ON_ROW_COUNT:
            key = ()
        else:  # anything else (or a column the frame lacks): on the whole frame, exactly as GX would see it
            key = ("<whole frame>",)
        groups.setdefault(key, []).append(i)
    results: dict[int, Any] = {}
    first = None
    for key, indices in groups.items():
        if key == ("<column names>",):
            part = frame.empty()
        elif key == ("<whole frame>",):
            part = frame.select()
        else:
            part = frame.select(list(key))
        # `indices` are in GX's order, which GX keeps for them: its results pair up with them one to one.
        res = validator.validate({**data, "expectations": [expectations[i] for i in indices]}, part, parameters)
        del part
        release_memory(collect=False)
        if len(res.results) != len(indices):  # cannot happen with GX 1.x; never mis-attribute a result
            raise MaturityError(f"GX returned {len(res.results)} results for {len(indices)} expectations")
        results.update(zip(indices, res.results, strict=True))
        first = first or res
    ordered = [results[i] for i in order]
    stats = calc_validation_statistics(ordered)
    return ExpectationSuiteValidationResult(
        success=stats.success, results=ordered, suite_name=first.suite_name,
        statistics={"evaluated_expectations": stats.evaluated_expectations,
                    "successful_expectations": stats.successful_expectations,
                    "unsuccessful_expectations": stats.unsuccessful_expectations,
                    "success_percent": stats.success_percent},
        meta=first.meta, batch_id=first.batch_id)


def _validate(validator: Validator, spec: SuiteSpec, frame: frame_sql.Frame, parameters: Mapping[str, Any]
              ) -> tuple[list[Failure], list[str], SuiteOutcome, dict[str, Any]]:
    data, skipped_exps = runnable(spec, parameters)
    skipped = [f"{spec.name}: {e['type']}({_column_label(e['kwargs']) or ''}) — needs "
               f"{', '.join(sorted(expectation_parameters(e)))}, not available" for e in skipped_exps]
    res = _validate_frame(validator, data, frame, parameters)
    failures: list[Failure] = []
    rows: list[dict[str, Any]] = []
    for r in res.results:
        cfg = r.expectation_config
        kwargs = {k: v for k, v in cfg.kwargs.items() if k != "batch_id"}
        severity = (cfg.meta or {}).get("severity", "error")
        result = r.result or {}
        exception = _exception_message(r.exception_info)
        detail = _detail(cfg.type, kwargs, result, exception)
        rows.append({"status": "passed" if r.success else "failed",
                     "status_class": "ok" if r.success else severity, "severity": severity, "type": cfg.type,
                     "notes": cfg.notes or "", "kwargs": kwargs, "result": "" if r.success else detail})
        if r.success:
            continue
        failures.append(Failure(
            suite=spec.name, expectation=cfg.type, column=_column_label(kwargs), severity=severity,
            unexpected_count=result.get("unexpected_count"), element_count=result.get("element_count"),
            detail=detail, examples=[] if exception else _examples(frame, spec, kwargs, result),
            notes=cfg.notes))
    for e in skipped_exps:
        rows.append({"status": "skipped", "status_class": "skipped", "severity": e["meta"]["severity"],
                     "type": e["type"], "notes": e.get("notes", ""), "kwargs": e["kwargs"],
                     "result": "skipped: parameter not available"})
    outcome = SuiteOutcome(spec.name, spec.table, frame.rows, len(res.results),
                           sum(f.severity == "error" for f in failures), sum(f.severity != "error" for f in failures),
                           len(skipped_exps))
    details = {"name": spec.name, "table": spec.table, "rows": frame.rows, "parameters": dict(parameters),
               "expectations": rows, "validation_result": res.to_json_dict()}
    return failures, skipped, outcome, details


# --------------------------------------------------------------------------------------------------
# Validating the suites: in this process and, where there is a core for it, in one forked helper
# --------------------------------------------------------------------------------------------------

_Validated = tuple[list[Failure], list[str], SuiteOutcome, dict[str, Any]]
_Todo = list[tuple[SuiteSpec, frame_sql.FrameSource, Mapping[str, Any]]]
# What a forked helper validates: set before the fork, inherited (the GX context and the small frames are not
# pickled), cleared after. Only the results travel back, pickled.
_FORKED: dict[str, Any] = {}


def release_memory(collect: bool = True) -> None:
    """Hand freed heap memory back to the OS (glibc keeps freed pages): a gate's large frames must not stay
    resident in the process for the rest of the run. (Arrow's own pool is left alone: asking it to let go,
    or switching it, crashes DuckDB's conversions.) `collect=False` skips the garbage collector: a full
    collection costs ~0.25 s once GX is loaded, too much after every column group."""
    import ctypes
    import gc

    if collect:
        gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


@contextlib.contextmanager
def _collections_of_own_objects() -> Iterator[None]:
    """While a gate validates, the full collections of `release_memory` walk only what the gate allocated.

    Everything alive when it starts (Airflow, GX and the modules they import: ~450 000-600 000 objects in
    `maturity run`) moves to the permanent generation (`gc.freeze`) and back at the end. A full collection
    otherwise walks all of it: 0.27-0.35 s each, after every large frame and at the end of each gate. The
    gate's own garbage (frames, GX results) is collected as before. If something else froze objects (a
    server before it forks), that is left as it is.
    """
    import gc

    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _validate_one(validator: Validator, spec: SuiteSpec, source: frame_sql.FrameSource | frame_sql.Frame,
                  parameters: Mapping[str, Any]) -> _Validated | Failure:
    """Build the suite's frame (unless given one) and validate it; a frame that cannot be built is a Failure."""
    try:
        frame = source if isinstance(source, frame_sql.Frame) else source.frame(spec.name)
    except duckdb.Error as exc:
        return Failure(spec.name, "frame", None, "error", None, detail=f"the frame could not be built: {exc}")
    try:
        return _validate(validator, spec, frame, parameters)
    finally:
        large = frame.grouped
        frame.close()
        if large:
            release_memory()


def _validate_each(validator: Validator, todo: list[tuple[SuiteSpec, Any, Mapping[str, Any]]], indices: list[int]
                   ) -> dict[int, _Validated | Failure]:
    sources = {id(todo[i][1]): todo[i][1] for i in indices if isinstance(todo[i][1], frame_sql.FrameSource)}
    try:
        return {i: _validate_one(validator, *todo[i]) for i in indices}
    finally:
        for source in sources.values():
            source.close()


def _validate_in_helper(indices: list[int]) -> dict[int, _Validated | Failure]:
    """Runs in the forked helper, on what it inherited: small frames built before the fork (DuckDB is never
    used in the helper: a connection must not cross a fork)."""
    return _validate_each(_FORKED["validator"], _FORKED["todo"], indices)


def _helper_share(todo: _Todo, indices: list[int]) -> list[int]:
    """The suites a helper validates: small frames only (built here before the fork, so that a large one is
    never copied into it), about half the work (expectations × rows, largest first, greedily)."""
    if len(indices) < 2 or (os.cpu_count() or 1) < 2:
        return []

    def rows(i: int) -> int:
        spec, source, _ = todo[i]
        return source.row_estimates.get(spec.name, 0)

    def cost(i: int) -> float:
        return len(todo[i][0].expectations) * (1 + rows(i) / 2000)

    mine, theirs, load = [], [], [0.0, 0.0]
    for i in sorted(indices, key=cost, reverse=True):
        side = 0 if load[0] <= load[1] or rows(i) > frame_sql.GROUPED_ROWS else 1
        (mine if side == 0 else theirs).append(i)
        load[side] += cost(i)
    return sorted(theirs)


def _validate_suites(todo: _Todo, indices: list[int], helper_allowed: bool = True
                     ) -> dict[int, _Validated | Failure]:
    """Validate `todo[i]` for each i in `indices` with one GX context; the results by index.

    GX spends ~10 ms of pure Python per expectation, so a gate is CPU-bound: on a machine with a second
    core, a forked helper validates small suites with the same (inherited) context while this process
    validates the rest, the large ones among them. The helper's frames are built here before the fork;
    this process builds, validates and drops its own frames one at a time. The results are identical to a
    serial run and are combined in suite order; if the helper cannot be used, its suites are validated here.
    """
    validator = Validator()
    with _collections_of_own_objects():
        return _validate_with(validator, todo, indices, helper_allowed)


def _validate_with(validator: Validator, todo: _Todo, indices: list[int], helper_allowed: bool
                   ) -> dict[int, _Validated | Failure]:
    theirs = _helper_share(todo, indices) if helper_allowed else []
    helper = forked.pool(1) if theirs else None
    job = None
    work: list[tuple[SuiteSpec, Any, Mapping[str, Any]]] = list(todo)
    if helper is not None:
        prebuilt: dict[int, _Validated | Failure] = {}
        for i in theirs:
            spec, source, parameters = todo[i]
            try:
                work[i] = (spec, source.frame(spec.name), parameters)
            except duckdb.Error as exc:
                prebuilt[i] = Failure(spec.name, "frame", None, "error", None,
                                      detail=f"the frame could not be built: {exc}")
        for source in {id(t[1]): t[1] for t in todo}.values():
            source.close()  # no DuckDB connection open across the fork
        theirs = [i for i in theirs if i not in prebuilt]
        _FORKED.update(validator=validator, todo=work)
        try:
            job = helper.submit(_validate_in_helper, theirs)  # forks now, with the context and small frames
        finally:
            _FORKED.clear()
    else:
        prebuilt = {}
    try:
        results = _validate_each(validator, work, [i for i in indices if i not in theirs and i not in prebuilt])
        results.update(prebuilt)
        if job is not None:
            shared = forked.result(job)
            # The helper died, failed or hung: validate its suites here (a real problem with a suite
            # then raises here, exactly as in a serial run).
            results.update(_validate_each(validator, work, theirs) if forked.missing(shared) else shared)
    finally:
        forked.close(helper)
        release_memory()
    return results


def _encoded(result: _Validated) -> dict[str, Any]:
    """A suite's result as JSON for the result store (examples are already plain values)."""
    failures, skipped, outcome, details = result
    return {"failures": [asdict(f) for f in failures], "skipped": skipped, "outcome": asdict(outcome),
            "details": details}


def _decoded(stored: Mapping[str, Any]) -> _Validated:
    return ([Failure(**f) for f in stored["failures"]], list(stored["skipped"]), SuiteOutcome(**stored["outcome"]),
            dict(stored["details"]))


@dataclass
class _Run:
    gate: str
    source: str
    started: float = field(default_factory=time.perf_counter)
    failures: list[Failure] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    suites: list[SuiteOutcome] = field(default_factory=list)
    details: list[dict[str, Any]] = field(default_factory=list)
    evaluated: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)

    def validate_all(self, specs: Mapping[str, SuiteSpec], source: frame_sql.FrameSource,
                     parameters: Callable[[SuiteSpec], Mapping[str, Any]], store: reuse.ResultStore | None = None,
                     digests: Mapping[str, str] | None = None, helper_allowed: bool = True) -> None:
        """Validate every suite on its frame from `source`, built lazily in the process that validates it.

        With a `store` and a digest per suite (reuse.py), a suite whose digest equals the stored one takes
        its stored result instead, and every result validated here is stored for the next gate.
        """
        todo: _Todo = [(spec, source, parameters(spec)) for spec in specs.values()]
        runnable_ = [i for i, (spec, _, _) in enumerate(todo) if spec.name in source.queries]
        digests = digests or {}
        results: dict[int, _Validated | Failure] = {}
        if store is not None:
            for i in runnable_:
                name = todo[i][0].name
                stored = store.get(name, digests[name]) if name in digests else None
                if stored is not None:
                    with contextlib.suppress(KeyError, TypeError, ValueError):
                        results[i] = _decoded(stored)
                        self.reused.append(name)
            runnable_ = [i for i in runnable_ if i not in results]
        if runnable_:  # row counts to share the work; the connection is closed again before the fork
            counted = [todo[i][0] for i in runnable_]  # a partitioned suite's part counts its own rows
            source.estimate_rows({s.name: f"{s.table} WHERE {s.rows}" if s.rows else s.table for s in counted})
        # GX is imported in _validate_suites, once per gate
        fresh = _validate_suites(todo, runnable_, helper_allowed) if runnable_ else {}
        results.update(fresh)
        if store is not None:
            for i, result in fresh.items():
                name = todo[i][0].name
                if name in digests and not isinstance(result, Failure):
                    store.put(name, digests[name], _encoded(result))
            store.save()
        for i, (spec, _, _) in enumerate(todo):
            result = results.get(i) or Failure(spec.name, "frame", None, "error", None,
                                               detail="no frame query for it")
            if isinstance(result, Failure):
                self.failures.append(result)
                self.suites.append(SuiteOutcome(spec.name, spec.table, None, 0, 1, 0, 0))
                continue
            failures, skipped, outcome, details = result
            self.failures += failures
            self.skipped += skipped
            self.suites.append(outcome)
            self.details.append(details)
            self.evaluated += outcome.evaluated

    def finish(self, out_dir: Path) -> GateResult:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        result = GateResult(
            gate=self.gate, source=self.source, failures=self.failures, suites=self.suites, skipped=self.skipped,
            evaluated=self.evaluated, seconds=time.perf_counter() - self.started,
            finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            json_path=out_dir / f"{self.gate}_gate.json", html_path=out_dir / f"{self.gate}_gate.html",
            reused=self.reused)
        write_json(result, result.json_path, {"validation": self.details, **self.extra})
        write_html(result, result.html_path, self.details)
        return result


# --------------------------------------------------------------------------------------------------
# The raw gate
# --------------------------------------------------------------------------------------------------


def run_raw_gate(warehouse_db: Path, out_dir: Path, *, expectations_dir: Path | None = None,
                 cache_dir: Path | None = None) -> GateResult:
    """Validate the raw tables of the working warehouse (after ingest, before dbt).

    Opens `warehouse_db` read-only (no other process may be writing it) and validates one frame per
    `raw_*` suite. With a `cache_dir`, a suite whose suite file, frame query, tables read and gate code
    are all unchanged since the last gate takes that gate's result (reuse.py). Writes
    ``out_dir/raw_gate.json`` and ``out_dir/raw_gate.html``.
    """
    warehouse_db = Path(warehouse_db)
    if not warehouse_db.is_file():
        raise MaturityError(f"The raw gate has no warehouse to check: {warehouse_db} does not exist.")
    run = _Run("raw", str(warehouse_db))
    specs, queries, digests = _raw_plan(warehouse_db, load_specs("raw", expectations_dir), cache_dir is not None)
    store = reuse.ResultStore(Path(cache_dir) / "raw_suites.json") if cache_dir is not None else None
    run.validate_all(specs, frame_sql.FrameSource(queries, database=warehouse_db), lambda _spec: {}, store, digests)
    return run.finish(out_dir)


def _raw_plan(warehouse_db: Path, specs: Mapping[str, SuiteSpec], with_digests: bool
              ) -> tuple[dict[str, SuiteSpec], dict[str, str], dict[str, str]]:
    """The suites to validate, their frame queries and (`with_digests`) a reuse.suite_digest for each.

    A suite with `meta.partition` (the survey answers and respondents: one part per wave) is validated as
    one suite per value of that column in its table, named `suite[column=value]`: with the results
    reused per part, a new wave validates only its own rows, not every earlier wave's again. Its checks
    compose: every expectation of such a suite is on single rows or on a key that holds the partition
    column, and its frame joins the other partitioned tables on that column. A suite whose table has no
    rows (or cannot be read) is validated whole, so that its row-count and column checks still report.
    """
    queries = dict(frame_sql.RAW_FRAMES)
    out: dict[str, SuiteSpec] = {}
    digests: dict[str, str] = {}
    con = duckdb.connect(str(warehouse_db), read_only=True)
    try:
        read = {name: reuse.tables_read(sql) for name, sql in queries.items() if name in specs}
        code = reuse.code_digest() if with_digests else ""
        tables: dict[str, str] = {}  # digests of the tables read whole, each computed once

        def whole(names: list[str]) -> dict[str, str]:
            tables.update(reuse.table_digests(con, [t for t in names if t not in tables]))
            return tables

        for name, spec in specs.items():
            parts = reuse.PartDigests(con, read[name], spec.partition) if spec.partition and name in read else None
            own = spec.table.removeprefix("raw.")
            if parts is None or not parts.values.get(own):
                out[name] = spec
                if with_digests and name in read:
                    digests[name] = reuse.suite_digest(code, spec.data, queries[name], whole(read[name]), {})
                continue
            unpartitioned = [t for t in read[name] if t not in parts.values] if with_digests else []
            for value in parts.values[own]:
                part = spec.part(value, frame_sql.partition_condition(spec.partition, value))
                out[part.name] = part
                queries[part.name] = frame_sql.partition_query(queries[name], spec.partition, value)
                if with_digests:
                    digests[part.name] = reuse.suite_digest(code, part.data, queries[part.name],
                                                            {**whole(unpartitioned), **parts.tables(value)}, {})
    finally:
        con.close()
    return out, queries, digests


# --------------------------------------------------------------------------------------------------
# The mart gate
# --------------------------------------------------------------------------------------------------


def default_min_cell() -> int:
    """min_cell from dbt_project.yml (the value the marts were suppressed with); 5 if it cannot be read."""
    try:
        import yaml

        data = yaml.safe_load((PROJECT_ROOT / "dbt_project" / "dbt_project.yml").read_text(encoding="utf-8"))
        return int(data["vars"]["min_cell"])
    except (OSError, KeyError, TypeError, ValueError, ImportError):
        return 5


def _consensus_run_id(con: duckdb.DuckDBPyConnection, tables: list[str]) -> str | None:
    """The run_id carried by the most tables (ties: the greatest), when the caller did not name the run."""
    votes: dict[str, int] = {}
    for table in tables:
        try:
            ids = [r[0] for r in con.execute(f"SELECT DISTINCT run_id FROM {table}").fetchall()]
        except duckdb.Error:
            continue
        for run_id in ids:
            if run_id is not None:
                votes[run_id] = votes.get(run_id, 0) + 1
    return max(votes, key=lambda r: (votes[r], r)) if votes else None


def _row_bounds(previous_parquet_dir: Path | None, table: str, tolerance: float) -> dict[str, int]:
    if previous_parquet_dir is None:
        return {}
    previous = frame_sql.parquet_row_count(Path(previous_parquet_dir) / f"{table}.parquet")
    if previous is None:
        return {}
    return {"previous_row_count": previous,
            "previous_row_count_min": math.floor(previous * (1 - tolerance)),
            "previous_row_count_max": math.ceil(previous * (1 + tolerance))}


def _audit_failures(outcome: AuditOutcome, min_cell: int) -> list[Failure]:
    what = "wave × dimension groups" if outcome.scope == "survey" else "HR extracts"
    out = []
    if outcome.blocking:
        groups = {tuple(sorted((k, v) for k, v in f.items() if k in ("wave_id", "dimension_id", "extract_date")))
                  for f in outcome.blocking}
        out.append(Failure(
            "privacy_audit", "small_cell_disclosure", outcome.tables, "error", len(outcome.blocking),
            outcome.groups, f"{len(outcome.blocking)} disclosure(s) of fewer than {min_cell} "
            f"{'respondents' if outcome.scope == 'survey' else 'persons'} in {len(groups)} of {outcome.groups} {what}",
            [_audit_example(f) for f in outcome.blocking[:MAX_EXAMPLES]],
            "SPEC §3.9: no sum over 1..min_cell − 1 respondents (persons) may be a linear combination of "
            "published sums; checked exactly with maturity.privacy.audit_linear."))
    if outcome.premise:
        out.append(Failure(
            "privacy_audit", "published_n_matches_warehouse", outcome.tables, "error", len(outcome.premise),
            None, f"{len(outcome.premise)} published row(s) whose n differs from the warehouse's counted "
            f"{'respondents' if outcome.scope == 'survey' else 'persons'}: the audit cannot vouch for them",
            [_audit_example(f) for f in outcome.premise[:MAX_EXAMPLES]],
            "The audit rebuilds the published sums from the warehouse; the Parquet set must come from it."))
    if outcome.non_blocking:
        out.append(Failure(
            "privacy_audit", "over_suppression", outcome.tables, "warning", len(outcome.non_blocking),
            outcome.groups, f"{len(outcome.non_blocking)} suppressed unit(s) of ≥ {min_cell} whose sum the "
            "published sums determine anyway (hides nothing, discloses nothing small)",
            [_audit_example(f) for f in outcome.non_blocking[:MAX_EXAMPLES]]))
    return out


def _audit_example(finding: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in finding.items() if v is not None}


def run_mart_gate(
    parquet_dir: Path,
    previous_parquet_dir: Path | None,
    out_dir: Path,
    audit_db: Path | None,
    *,
    run_id: str | None = None,
    min_cell: int | None = None,
    row_count_tolerance: float = DEFAULT_ROW_COUNT_TOLERANCE,
    expectations_dir: Path | None = None,
    cache_dir: Path | None = None,
) -> GateResult:
    """Validate the Parquet set about to be published, including the SPEC §3.9 privacy audit.

    - `parquet_dir`: ``<table>.parquet`` for each of maturity.publish.MARTS.
    - `previous_parquet_dir`: the currently published set (row-count bounds: ± `row_count_tolerance` of its
      row counts; a collapse blocks, a jump warns); None or a missing file skips those two checks.
    - `audit_db`: the working warehouse the set was exported from (read-only; it holds the counted
      respondents and placed persons the audit needs). None skips the audit with a warning.
    - `run_id`: the run whose marts these are; every table must carry it (default: the run_id most
      tables carry). `min_cell`: default from dbt_project.yml.
    - `cache_dir`: where the audit keeps its findings per group (audit.AuditCache), so that an unchanged
      wave × dimension or HR extract is not solved again; None audits every group from scratch.
    Writes ``out_dir/mart_gate.json`` and ``out_dir/mart_gate.html``.
    """
    from maturity.publish import MARTS

    parquet_dir = Path(parquet_dir)
    if not parquet_dir.is_dir():
        raise MaturityError(f"The mart gate has nothing to check: {parquet_dir} is not a directory.")
    min_cell = default_min_cell() if min_cell is None else int(min_cell)
    run = _Run("mart", str(parquet_dir))
    specs = load_specs("mart", expectations_dir)
    con = duckdb.connect()
    try:
        missing = frame_sql.attach_parquet(con, parquet_dir, MARTS)
        for table in missing:
            run.failures.append(Failure(f"mart_{table}", "parquet_file_exists", None, "error", None,
                                        detail=f"{table}.parquet is missing from {parquet_dir}"))
        extra = sorted(p.stem for p in parquet_dir.glob("*.parquet") if p.stem not in MARTS)
        if extra:
            run.failures.append(Failure("publish", "only_the_published_marts", None, "warning", len(extra),
                                        detail=f"unexpected Parquet file(s): {', '.join(extra)} (SPEC §4 lists "
                                               "exactly the twelve marts)"))
        for table in MARTS:
            if f"mart_{table}" not in specs:
                run.failures.append(Failure(f"mart_{table}", "suite_exists", None, "error", None,
                                            detail=f"no expectation suite mart_{table}.json for a published mart"))
        present = [t for t in MARTS if t not in missing]
        publish_run_id = run_id or _consensus_run_id(con, present)
        specs = {n: s for n, s in specs.items() if s.table not in missing}
        bounds = {s.name: _row_bounds(previous_parquet_dir, s.table, row_count_tolerance) for s in specs.values()}

        def parameters(spec: SuiteSpec) -> dict[str, Any]:
            return {"min_cell": min_cell, "publish_run_id": [publish_run_id], **bounds[spec.name]}

        source = frame_sql.FrameSource(frame_sql.MART_FRAMES, parquet_dir=parquet_dir, tables=MARTS,
                                        grouped_rows=frame_sql.MART_GROUPED_ROWS)
        # No forked helper here: a fork after dbt doubles the ~0.9 GB this process holds in the RSS of the run
        # (kl: 2141 -> 1270 MiB peak during the mart gate) for ~1 s of parallel GX work (18.2 -> 19.3 s).
        run.validate_all(specs, source, parameters, helper_allowed=False)
        run.extra["parameters"] = {"min_cell": min_cell, "publish_run_id": publish_run_id,
                                   "row_count_tolerance": row_count_tolerance,
                                   "previous_parquet_dir": str(previous_parquet_dir) if previous_parquet_dir else None}
        _run_audit(run, con, audit_db, missing, min_cell, cache_dir)
    finally:
        con.close()
    return run.finish(out_dir)


def _run_audit(run: _Run, con: duckdb.DuckDBPyConnection, audit_db: Path | None, missing: list[str],
               min_cell: int, cache_dir: Path | None = None) -> None:
    if audit_db is None:
        run.failures.append(Failure("privacy_audit", "audit_ran", None, "warning", None,
                                    detail="skipped: no warehouse (audit_db) was given, so the SPEC §3.9 audit "
                                           "could not run"))
        run.skipped.append("privacy_audit: no audit_db")
        return
    needed = {"fct_maturity_scores", "fct_leadership_alignment", "fct_transformation_capacity"}
    if needed & set(missing):
        run.failures.append(Failure("privacy_audit", "audit_ran", None, "error", None,
                                    detail="cannot audit: " + ", ".join(sorted(needed & set(missing))) + " missing"))
        return
    started = time.perf_counter()
    try:
        wh = duckdb.connect(str(audit_db), read_only=True)
    except duckdb.Error as exc:
        run.failures.append(Failure("privacy_audit", "audit_ran", None, "error", None,
                                    detail=f"cannot open the warehouse {audit_db}: {exc}"))
        return
    cache = AuditCache(Path(cache_dir) / "privacy_audit.json" if cache_dir is not None else None)
    try:
        outcomes = [audit_survey(con, wh, min_cell, cache), audit_capacity(con, wh, min_cell, cache)]
    except duckdb.Error as exc:
        run.failures.append(Failure("privacy_audit", "audit_ran", None, "error", None,
                                    detail=f"the audit could not read what it needs: {exc}"))
        return
    finally:
        wh.close()
    cache.save()
    for outcome in outcomes:
        run.failures += _audit_failures(outcome, min_cell)
        run.evaluated += 1
    run.extra["privacy_audit"] = {
        "audit_db": str(audit_db), "min_cell": min_cell, "seconds": round(time.perf_counter() - started, 3),
        "groups_reused": cache.reused,
        **{o.scope: {"groups": o.groups, "blocking": o.blocking, "premise": o.premise,
                     "non_blocking": o.non_blocking} for o in outcomes}}
    run.suites.append(SuiteOutcome(
        "privacy_audit", "fct_maturity_scores, fct_leadership_alignment, fct_transformation_capacity",
        sum(o.groups for o in outcomes), len(outcomes),
        sum(bool(o.blocking) + bool(o.premise) for o in outcomes), sum(bool(o.non_blocking) for o in outcomes), 0))
