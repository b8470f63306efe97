"""Reusing a raw suite's earlier result when nothing it reads has changed.

A suite's result is a function of its suite file, its frame query, the rows of the tables that query
reads, and the gate's code (and GX's version). The raw gate digests exactly those per suite: each raw
table by its column names and types, its row count and the sum of its rows' hashes (DuckDB; ~0.15 s
for all raw tables at the kl scale). When one survey wave lands, the HR, project and reference suites
read the same rows as before and their results are taken from the last gate; at the kl scale that
skips the 1.5-million-row employments suite (~12 s). Any difference in a digest's inputs — one row
edited, a column added, a suite or the gate's code changed — validates the suite again.

The store keeps only the suites of the latest gate, so it does not grow; an unreadable store is
treated as empty.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb

from maturity.gates.report import _write_atomic

_TABLE = re.compile(r"\braw\.([A-Za-z_][A-Za-z0-9_]*)")


def tables_read(sql: str) -> list[str]:
    """The raw tables a frame query reads (`raw.<table>`), sorted."""
    return sorted(set(_TABLE.findall(sql)))


def code_digest() -> str:
    """The gates' own code and GX's version: a change to either invalidates every stored result."""
    h = hashlib.sha256(metadata.version("great_expectations").encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _digest(columns: list[tuple[str, str]], count: int, total: Any) -> str:
    return hashlib.sha256(repr((columns, count, total)).encode()).hexdigest()


def table_digests(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> dict[str, str]:
    """Per raw table: columns and types, row count and the sum of the rows' hashes (a missing table: "")."""
    out: dict[str, str] = {}
    for table in sorted(set(tables)):
        try:
            columns = con.execute(f"DESCRIBE raw.{table}").fetchall()
            count, total = con.execute(f"SELECT count(*), sum(hash(t)::HUGEINT) FROM raw.{table} AS t").fetchone()
        except duckdb.Error:
            out[table] = ""
            continue
        out[table] = _digest([c[:2] for c in columns], count, total)
    return out


class PartDigests:
    """Per raw table that has the partition column: the digest of each value's rows (as table_digests).

    A partitioned suite's frame (suites.SuiteSpec.partition) reads, for one value, only that value's rows
    of these tables (it joins them on the partition column) and the whole of any other table; so one
    value's result depends on exactly `tables(value)`. One scan per table gives every value's digest.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, tables: Iterable[str], column: str) -> None:
        self.values: dict[str, list[Any]] = {}
        self._by_table: dict[str, tuple[dict[Any, str], str]] = {}
        for table in sorted(set(tables)):
            try:
                columns = [c[:2] for c in con.execute(f"DESCRIBE raw.{table}").fetchall()]
            except duckdb.Error:
                continue
            if column not in [name for name, _ in columns]:
                continue
            rows = con.execute(f'SELECT "{column}", count(*), sum(hash(t)::HUGEINT) FROM raw.{table} AS t '
                               f'GROUP BY ALL ORDER BY 1 NULLS LAST').fetchall()
            self.values[table] = [value for value, _, _ in rows]
            self._by_table[table] = ({value: _digest(columns, n, total) for value, n, total in rows},
                                     _digest(columns, 0, None))

    def tables(self, value: Any) -> dict[str, str]:
        """Digest of each partitioned table's rows for `value` (no rows: the empty table's digest)."""
        return {table: found.get(value, empty) for table, (found, empty) in self._by_table.items()}


def suite_digest(code: str, suite: Mapping[str, Any], sql: str, tables: Mapping[str, str],
                 parameters: Mapping[str, Any]) -> str:
    """What one suite's result depends on, as one digest."""
    h = hashlib.sha256()
    for part in (code, json.dumps(suite, sort_keys=True, default=str), sql,
                 json.dumps({t: tables.get(t, "") for t in tables_read(sql)}, sort_keys=True),
                 json.dumps(parameters, sort_keys=True, default=str)):
        h.update(part.encode())
        h.update(b"\x1d")
    return h.hexdigest()


class ResultStore:
    """Results (JSON) by name — a suite, or an audit group — each with the digest it was computed for.

    Only what the current gate looked up or stored is written back, so the file holds the latest gate's.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._old: dict[str, dict[str, Any]] = {}
        self._new: dict[str, dict[str, Any]] = {}
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                self._old = data if isinstance(data, dict) else {}
            except (OSError, ValueError):
                self._old = {}

    def get(self, name: str, digest: str) -> Any | None:
        entry = self._old.get(name)
        if isinstance(entry, dict) and entry.get("digest") == digest and "result" in entry:
            self._new[name] = entry
            return entry["result"]
        return None

    def put(self, name: str, digest: str, result: Any) -> None:
        self._new[name] = {"digest": digest, "result": result}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.path, json.dumps(self._new, ensure_ascii=False, default=str))
