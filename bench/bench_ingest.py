"""Ingest benchmark: our ingest of a demo landing area vs a plain DuckDB read of the same files.

Both run in this process, one after the other, several times; the script prints the medians and
the throughput ratio (target: ingest ≥ 0.7 × the plain reader). Usage:

    python bench/bench_ingest.py [--scale kl|haderslev] [--repeat 3] [--landing DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from maturity import duck
from maturity.ingest.dialect import LandedFile, sniff
from maturity.ingest.reader import xlsx_sheets
from maturity.ingest.run import SOURCES, ingest_source
from maturity.settings import Settings

KEY = "ab" * 32


def plain_read(landing: Path, db: Path) -> int:
    """The baseline: DuckDB's readers load every landed table as text into a file-backed database."""
    con = duck.connect(db)
    duck.ensure_encodings(con)
    rows = 0
    for i, path in enumerate(sorted(landing.rglob("*"))):
        if path.suffix == ".csv":
            f = LandedFile.read(path, landing)
            d = sniff(f, header_contains="Tjenestenummer" if path.name == "employees.csv" else None,
                      has_header=path.name != "labels.csv")
            con.execute(
                f"CREATE TABLE t{i} AS SELECT * FROM read_csv('{path}', encoding='{d.duckdb_encoding}', "
                f"delim='{d.delimiter}', header=false, skip={d.header_line}, all_varchar=true, "
                f"strict_mode=false)")
        elif path.suffix == ".xlsx":
            for k, sheet in enumerate(xlsx_sheets(LandedFile.read(path, landing))):
                con.execute(f"CREATE TABLE t{i}_{k} AS SELECT * FROM read_xlsx('{path}', sheet='{sheet}', "
                            "header=false, all_varchar=true, ignore_errors=true)")
        else:
            continue
    for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
        rows += con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
    con.close()
    return rows


def our_ingest(landing: Path, warehouse: Path) -> int:
    settings = Settings(landing, warehouse, KEY)
    for source in SOURCES:
        ingest_source(settings, source, progress=lambda _m: None)
    con = duckdb.connect(str(settings.warehouse_db), read_only=True)
    rows = con.execute("SELECT sum(rows_read) FROM raw.manifest").fetchone()[0]
    con.close()
    return rows


def timed(fn, *args) -> tuple[float, int]:
    started = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="kl", choices=["kl", "haderslev"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--landing", help="use an existing landing area instead of generating one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        tmp_path = Path(tmp)
        landing = Path(args.landing).resolve() if args.landing else tmp_path / "landing"
        if not args.landing:
            from maturity.demo import generate

            t, _ = timed(generate, landing, args.scale, 42)
            print(f"generated the {args.scale} demo in {t:.1f} s")
        size = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())
        ours, plain = [], []
        for i in range(args.repeat):
            t_plain, plain_rows = timed(plain_read, landing, tmp_path / f"plain{i}.duckdb")
            t_ours, our_rows = timed(our_ingest, landing, tmp_path / f"wh{i}")
            plain.append(t_plain)
            ours.append(t_ours)
            print(f"run {i + 1}: plain read_csv/read_xlsx {t_plain:.2f} s ({plain_rows:,} rows) | "
                  f"ingest {t_ours:.2f} s ({our_rows:,} rows)")
        t_noop, _ = timed(our_ingest, landing, tmp_path / "wh0")
        m_ours, m_plain = statistics.median(ours), statistics.median(plain)
        ratio = m_plain / m_ours
        mb = size / 1e6
        print(f"\nlanding: {mb:.1f} MB ({args.scale}); cores: {os.cpu_count()}")
        print(f"plain DuckDB reader  median {m_plain:6.2f} s  {mb / m_plain:7.1f} MB/s")
        print(f"maturity ingest      median {m_ours:6.2f} s  {mb / m_ours:7.1f} MB/s")
        print(f"unchanged re-run (no-op)    {t_noop:6.2f} s")
        print(f"throughput ratio ingest/plain = {ratio:.2f}  (target ≥ 0.70) {'✓' if ratio >= 0.7 else '✗'}")
        out = Path(__file__).parent / "results" / f"ingest_{args.scale}_{time.strftime('%Y-%m-%d')}.json"
        out.write_text(json.dumps({
            "scale": args.scale, "landing_mb": mb, "repeat": args.repeat, "plain_s": plain, "ingest_s": ours,
            "noop_s": t_noop, "ratio": ratio, "cores": os.cpu_count(), "python": platform.python_version(),
            "duckdb": duckdb.__version__,
        }, indent=2))
        print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
