"""Forked helper processes for CPU-bound work (GX validation, report charts) — that can never hang a run.

A forked child inherits the parent's imported modules and data (no pickling of a GX context or the
loaded marts), which is why the gates and the report fork rather than spawn. Forking a process that
has other threads (an in-process Airflow API under `maturity run`, a Celery worker) can in rare cases
leave the child waiting on a lock another thread held at the fork. So every result is awaited with a
timeout; on a timeout or any failure the caller does the work itself, and `close` kills helpers that
did not finish instead of waiting for them.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

#: Seconds a helper may take for one piece of work before its result is given up on.
TIMEOUT = float(os.environ.get("MATURITY_HELPER_TIMEOUT", "300"))


def pool(workers: int) -> ProcessPoolExecutor | None:
    """A pool of `workers` forked helpers, or None where fork is unavailable or nothing to share."""
    if workers < 1 or (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    if multiprocessing.current_process().daemon:  # e.g. a Celery prefork pool process: it may not have children
        return None
    try:
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    except OSError:
        return None


_MISSING = object()


def result(job: Future | None, timeout: float = TIMEOUT) -> Any:
    """The helper's result, or `MISSING` when there is none (no helper, it failed, or it timed out)."""
    if job is None:
        return _MISSING
    try:
        return job.result(timeout=timeout)
    except Exception:  # noqa: BLE001 - died, raised or timed out: the caller does the work itself
        return _MISSING


def missing(value: Any) -> bool:
    return value is _MISSING


def close(executor: ProcessPoolExecutor | None) -> None:
    """Shut the pool down without ever waiting on a stuck helper: unfinished helpers are killed."""
    if executor is None:
        return
    processes = list(getattr(executor, "_processes", {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.join(timeout=1)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)
