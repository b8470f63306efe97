"""Ingest one source of the landing area into the raw schema, snapshot by snapshot.

A snapshot is skipped when its fingerprint (the sha256 of its files, of what it depends on, and of
the ingest code version) is unchanged, so an unchanged landing area is a fast no-op that writes
nothing. A changed snapshot replaces the old one in one transaction; a snapshot whose folder is gone
is removed. A snapshot that cannot be loaded is reported and leaves its previous data in place.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from maturity import duck
from maturity.errors import LandingError, MaturityError
from maturity.ingest import portfolio, pseudonymise, reference, sd_loen, surveyxact
from maturity.ingest.dialect import LandedFile, norm_header, sniff, unquote_cell
from maturity.ingest.store import SnapshotLoad, delete_snapshot, ensure_schema, grouped_hex
from maturity.settings import Settings

log = logging.getLogger(__name__)

#: Bump when a change to the readers should reload every snapshot.
INGEST_VERSION = "4"
SOURCES = ("reference", "hr", "surveys", "projects")


@dataclass
class Snapshot:
    source: str
    key: str
    files: list[Path]
    loader: Callable[[SnapshotLoad], None]
    depends_on: list[str] = field(default_factory=list)  # extra fingerprint parts (e.g. the as-of tree)
    problem: LandingError | None = None  # found while planning: reported, the snapshot's loaded data is kept
    folder: Path | None = None
    prefetch: sd_loen.Prefetch | None = None  # HR: prepares the next extract while one loads


@dataclass
class SourceReport:
    source: str
    loaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _dated_folders(root: Path, rel: str) -> list[tuple[str, Path]]:
    """Folders named YYYY-MM-DD; anything else under an extract root is an error, not silently ignored."""
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        try:
            dt.date.fromisoformat(folder.name)
        except ValueError:
            raise LandingError(f"{rel}/{folder.name}", "the folder name is not a date (YYYY-MM-DD)") from None
        out.append((folder.name, folder))
    return out


def plan(con: duckdb.DuckDBPyConnection, settings: Settings, source: str) -> list[Snapshot]:
    landing = settings.landing_dir
    if source == "reference":
        path = landing / "reference" / "dimensions.csv"
        if not path.is_file():
            raise LandingError("reference/dimensions.csv", "the file is missing; every run needs the dimensions")
        return [Snapshot("reference", "reference", [path],
                         lambda load: reference.load_dimensions(load, LandedFile.read(path, landing)))]
    if source == "hr":
        key = settings.pseudonym_key()
        key_id = hmac.new(key, b"maturity-key-id", hashlib.sha256).hexdigest()
        prefetch = sd_loen.Prefetch(landing, key)
        return [
            Snapshot("hr", date, sorted(p for p in folder.iterdir() if p.is_file()),
                     lambda load, folder=folder, date=date: sd_loen.load_extract(load, folder, landing, date, key,
                                                                                 prefetch),
                     [key_id], folder=folder, prefetch=prefetch)
            for date, folder in _dated_folders(landing / "hr", "hr")
        ]
    if source == "projects":
        snaps = []
        for date, folder in _dated_folders(landing / "projects", "projects"):
            files = [p for p in (folder / "portfolio.xlsx", folder / "portfolio.csv") if p.is_file()]
            if len(files) != 1:
                snaps.append(_unusable("projects", date, LandingError(
                    f"projects/{date}", "expected one portfolio.xlsx or portfolio.csv"
                    + (", found both" if files else ", found none"))))
                continue
            snaps.append(Snapshot("projects", date, files,
                                  lambda load, f=files[0], date=date: portfolio.load_portfolio(
                                      load, LandedFile.read(f, landing), date),
                                  [_dimensions_fingerprint(con)]))
        return snaps
    if source == "surveys":
        root = landing / "surveys"
        snaps = []
        for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
            try:
                files = surveyxact.wave_files(folder, landing)
            except LandingError as exc:  # one broken wave folder must not hold back the others
                snaps.append(_unusable("surveys", folder.name, exc))
                continue
            closes_on = _peek_closes_on(folder, landing)
            tree = con.execute(
                f"SELECT CAST({surveyxact.asof_extract_sql('parse_date(?, false)')} AS VARCHAR)", [closes_on]
            ).fetchone()[0]
            tree_sha = con.execute(
                "SELECT string_agg(sha256, ',' ORDER BY file_path) FROM raw.manifest "
                "WHERE source = 'hr' AND snapshot_key = ? AND file_path LIKE '%org_units.csv'", [tree]).fetchone()[0]
            snaps.append(Snapshot("surveys", folder.name, files,
                                  lambda load, folder=folder: surveyxact.load_wave(load, folder, landing),
                                  [str(tree), str(tree_sha), _dimensions_fingerprint(con)]))
        return snaps
    raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")


def _unusable(source: str, key: str, problem: LandingError) -> Snapshot:
    return Snapshot(source, key, [], lambda _load: None, problem=problem)


def _peek_closes_on(folder: Path, landing: Path) -> str | None:
    """closes_on decides the as-of tree, which is part of the wave's fingerprint; parsed fully at load.

    Read in the file's own dialect (any encoding and delimiter of SPEC §2), so that the fingerprint names
    the same tree the load will use.
    """
    try:
        f = LandedFile.read(folder / "wave.csv", landing)
        dialect = sniff(f)
        text = f.data.decode({"utf-8": "utf-8-sig", "utf-16": "utf-16", "cp1252": "cp1252"}[dialect.encoding],
                             errors="replace")
        lines = [line for line in text.splitlines() if line.strip()]
        rows = list(csv.reader(lines[:2], delimiter=dialect.delimiter))
        header = [norm_header(unquote_cell(h)) for h in rows[0]]
        return unquote_cell(rows[1][header.index("closes_on")])
    except (OSError, IndexError, ValueError, LandingError):
        return None


def _dimensions_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("SELECT fingerprint FROM raw.snapshots WHERE source = 'reference'").fetchone()
    return row[0] if row else "none"


def fingerprint(snapshot: Snapshot, landing: Path) -> str:
    h = hashlib.sha256(f"v{INGEST_VERSION}".encode())
    for path in sorted(snapshot.files):
        h.update(f"{path.relative_to(landing).as_posix()}={_sha(path)}\n".encode())
    for part in snapshot.depends_on:
        h.update(f"dep={part}\n".encode())
    return grouped_hex(h.hexdigest())


def ingest_source(settings: Settings, source: str, progress: Callable[[str], None] = log.info) -> SourceReport:
    """Bring the raw tables of `source` in line with the landing area. Raises if any snapshot failed."""
    report = SourceReport(source)
    snapshots: list[Snapshot] = []
    con = duck.connect(settings.warehouse_db)
    try:
        # The raw tables are written without FSST: its analysis of the random-looking keys (52-character
        # pseudonyms, respondent ids), which it barely compresses, was ~35 % of every bulk INSERT (501,763
        # employments: 0.39 -> 0.26 s; the kl working warehouse file 197 -> 222 MB).
        con.execute("SET disabled_compression_methods = 'fsst'")
        ensure_schema(con)
        try:
            snapshots = plan(con, settings, source)
        except LandingError as exc:
            report.errors.append(str(exc))
            raise
        current = dict(con.execute("SELECT snapshot_key, fingerprint FROM raw.snapshots WHERE source = ?",
                                   [source]).fetchall())
        fps: dict[str, str | Exception] = {}
        for snap in snapshots:
            if snap.problem is None:
                try:
                    fps[snap.key] = fingerprint(snap, settings.landing_dir)
                except Exception as exc:  # noqa: BLE001 - handled in its turn below, as if raised there
                    fps[snap.key] = exc
        for snap in snapshots:  # the extracts that will load, in order: each prefetches the next
            fp = fps.get(snap.key)
            if snap.prefetch is not None and isinstance(fp, str) and current.get(snap.key) != fp:
                snap.prefetch.order.append(snap.folder)
        for snap in snapshots:
            if snap.problem is not None:
                report.errors.append(str(snap.problem))
                progress(f"{source}: snapshot {snap.key} not loaded: {snap.problem}")
                continue
            fp = fps[snap.key]
            if isinstance(fp, LandingError):
                report.errors.append(str(fp))
                continue
            if isinstance(fp, Exception):
                raise fp
            if current.get(snap.key) == fp:
                report.unchanged.append(snap.key)
                continue
            progress(f"{source}: loading snapshot {snap.key}")
            try:
                _load_snapshot(con, snap, fp)
                report.loaded.append(snap.key)
            except MaturityError as exc:
                report.errors.append(str(exc))
                progress(f"{source}: snapshot {snap.key} not loaded: {exc}")
        for gone in sorted(set(current) - {s.key for s in snapshots}):
            progress(f"{source}: snapshot {gone} is no longer in the landing area; removing it")
            con.begin()
            delete_snapshot(con, source, gone)
            con.commit()
            report.removed.append(gone)
    finally:
        for snap in snapshots:
            if snap.prefetch is not None:
                snap.prefetch.close()  # waits for a background preparation, drops what was not loaded
        con.close()
        pseudonymise.forget()  # no identifier is kept in memory after the source's ingest
    if report.errors:
        raise MaturityError(" ".join(report.errors))
    return report


def _load_snapshot(con: duckdb.DuckDBPyConnection, snap: Snapshot, fp: str) -> None:
    # "Z" after the seconds: "…T080216-0123…" would be a CPR-shaped string (08.02.16-0123) in every row.
    load_id = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:8]}"
    con.begin()
    try:
        delete_snapshot(con, snap.source, snap.key)
        load = SnapshotLoad(con, snap.source, snap.key, load_id)
        snap.loader(load)
        load.write_manifest()
        con.execute("INSERT INTO raw.snapshots VALUES (?, ?, ?, ?, now()::TIMESTAMP)",
                    [snap.source, snap.key, fp, load_id])
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall():
            con.execute(f'DROP TABLE IF EXISTS temp."{name}"')
