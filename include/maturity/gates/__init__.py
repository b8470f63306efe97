"""Quality gates (SPEC §1, §3.9, §4): Great Expectations suites from expectations/ plus the privacy audit.

- :func:`run_raw_gate` — after ingest, before dbt: the raw tables of the working warehouse.
- :func:`run_mart_gate` — before publishing: the exported Parquet set, with the §3.9 audit.

Both return a :class:`GateResult`; ``passed`` is False when an error-severity check failed. Importing
this package does not import Great Expectations (~3 s); running a gate does, once.
"""

from maturity.gates.runner import Failure, GateResult, SuiteOutcome, run_mart_gate, run_raw_gate

__all__ = ["Failure", "GateResult", "SuiteOutcome", "run_mart_gate", "run_raw_gate"]
