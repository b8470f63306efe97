"""End-to-end benchmark: `maturity run` per stage on the haderslev and kl demo scales.

Prints, per scale, the median wall time of each stage (Airflow start-up, ingest, raw gate, dbt, mart
gate, report, publish), the peak RSS of the whole process tree, an unchanged re-run and a run after
one new wave lands, plus our ingest against a plain DuckDB read of the same files — and every target
of the performance issue with ✓/✗. Results go to bench/results/<date>.json.

    python bench/bench_pipeline.py [--scales haderslev,kl] [--repeat 5] [--kl-repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_ingest import our_ingest, plain_read  # noqa: E402

KEY = "ab" * 32
ROOT = Path(__file__).resolve().parents[1]
STAGES = ("airflow_startup", "ingest", "raw_gate", "dbt_build", "mart_gate", "report", "publish")


def tree_memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes of a process and all its descendants, from /proc.

    The RSS sum counts a page shared by several processes (forked helpers, Chromium's processes) once
    per process; PSS divides each shared page among its sharers, so its sum is the memory really used.
    """
    rss = pss = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                rss += next((int(line.split()[1]) * 1024 for line in fh if line.startswith("VmRSS:")), 0)
            with open(f"/proc/{p}/smaps_rollup") as fh:
                pss += next((int(line.split()[1]) * 1024 for line in fh if line.startswith("Pss:")), 0)
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack += [int(c) for c in fh.read().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return rss, pss


def run(landing: Path, warehouse: Path, home: Path) -> dict:
    """One `maturity run`; returns its stage timings, total and the peak RSS of the process tree."""
    timings = warehouse.parent / f"timings-{time.monotonic_ns()}.json"
    env = {**os.environ, "MATURITY_PSEUDONYM_KEY": KEY, "AIRFLOW_HOME": str(home)}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "maturity.cli", "run", "--landing", str(landing),
                             "--warehouse", str(warehouse), "--timings", str(timings)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = [0, 0]

    def sample() -> None:
        while proc.poll() is None:
            rss, pss = tree_memory(proc.pid)
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"maturity run failed ({proc.returncode}): {err[-2000:]}")
    result = json.loads(timings.read_text())
    result["wall"] = time.perf_counter() - started
    result["peak_rss_mib"] = peak[0] / 2**20
    result["peak_pss_mib"] = peak[1] / 2**20
    return result


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def bench_scale(scale: str, repeat: int, base: Path) -> dict:
    from maturity.demo import generate

    landing = base / scale / "landing"
    t = time.perf_counter()
    generate(landing, scale, 42)
    print(f"[{scale}] demo generated in {time.perf_counter() - t:.1f} s")
    home = base / scale / "airflow"
    run(landing, base / scale / "warmup", home)  # migrates Airflow's DB, warms caches and dbt's parse
    three = base / scale / "landing3"
    shutil.copytree(landing, three)
    # One round = one run of each kind, so that the load of other tenants, which drifts over the minutes a
    # bench takes, weighs on every kind alike (each ratio compares runs made at about the same time): a
    # full run into a fresh warehouse, an unchanged re-run of it, a run after one new wave lands (on a
    # warehouse built without that wave just before), and our ingest against the plain DuckDB reader.
    full, unchanged, new_wave, plain_s, ours_s = [], [], [], [], []
    for i in range(repeat):
        full.append(run(landing, base / scale / f"wh{i}", home))
        unchanged.append(run(landing, base / scale / f"wh{i}", home))
        shutil.rmtree(three / "surveys" / "T3", ignore_errors=True)
        run(three, base / scale / f"wave{i}", home)
        shutil.copytree(landing / "surveys" / "T3", three / "surveys" / "T3")
        new_wave.append(run(three, base / scale / f"wave{i}", home))
        plain_s.append(_timed(plain_read, landing, base / scale / f"plain{i}.duckdb")[0])
        ours_s.append(_timed(our_ingest, landing, base / scale / f"ingest_only{i}")[0])
        shutil.rmtree(base / scale / f"ingest_only{i}")
        (base / scale / f"plain{i}.duckdb").unlink()
        print(f"[{scale}] round {i + 1}: full {full[-1]['wall']:.1f} s (peak RSS {full[-1]['peak_rss_mib']:.0f} "
              f"MiB, PSS {full[-1]['peak_pss_mib']:.0f} MiB), unchanged {unchanged[-1]['wall']:.1f} s, new wave "
              f"{new_wave[-1]['wall']:.1f} s, ingest ours/plain {ours_s[-1]:.1f}/{plain_s[-1]:.1f} s")
    print(f"[{scale}] one new wave, median stages: " + ", ".join(f"{k} {median_of(new_wave, k):.1f}" for k in STAGES))
    t_plain, t_ours = statistics.median(plain_s), statistics.median(ours_s)
    return {
        "full": {k: median_of(full, k) for k in (*STAGES, "wall", "peak_rss_mib", "peak_pss_mib")},
        "unchanged": median_of(unchanged, "wall"),
        "new_wave": median_of(new_wave, "wall"),
        "ingest_plain_s": t_plain, "ingest_ours_s": t_ours, "ingest_ratio": t_plain / t_ours,
        "ingest_runs": {"plain": plain_s, "ours": ours_s},
        "landing_mb": sum(p.stat().st_size for p in landing.rglob("*") if p.is_file()) / 1e6,
        "runs": {"full": full, "unchanged": unchanged, "new_wave": new_wave},
    }


def dag_parse_times(home: Path, repeat: int = 3) -> dict[str, float]:
    """Seconds per DAG file as Airflow measures them (`airflow dags report`), median of `repeat` parses."""
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}"}
    airflow = str(Path(sys.executable).with_name("airflow"))
    samples: dict[str, list[float]] = {}
    for _ in range(repeat):
        out = subprocess.run([airflow, "dags", "report", "-o", "json"], env=env, capture_output=True, text=True,
                             check=True).stdout
        for row in json.loads(out[out.index("[{"):]):
            h, m, sec = row["duration"].split(":")
            samples.setdefault(row["file"], []).append(int(h) * 3600 + int(m) * 60 + float(sec))
    return {name: statistics.median(values) for name, values in sorted(samples.items())}


def machine_speed(repeat: int = 5) -> dict[str, float]:
    """Milliseconds (median of `repeat`) of fixed probes: a pure-Python loop, a DuckDB scan, a Python
    process start (`python -c pass`) and the first touch of 256 MiB of fresh memory (65,536 page faults).

    The same code runs 2-3x slower on some days on these shared machines, and not evenly: on 2026-11-28
    the Python loop ran at its usual speed while a first touch of fresh memory cost ~5 µs per page (up to
    ~15 µs right after boot) and imports took twice their usual time. The probes, taken before and after
    the runs, let a reader set one day's figures against another's (the targets are ratios of runs made in
    the same minutes, except haderslev ≤ 60 s, which is absolute).
    """
    import mmap

    import duckdb

    def python_loop() -> None:
        sum(range(10_000_000))

    con = duckdb.connect()

    def duckdb_scan() -> None:
        con.sql("select sum(hash(i)) from range(50000000) t(i)").fetchall()

    def process_start() -> None:
        subprocess.run([sys.executable, "-c", "pass"], check=True)

    def page_touch() -> None:
        with mmap.mmap(-1, 256 * 2**20) as m:
            for offset in range(0, len(m), mmap.PAGESIZE):
                m[offset] = 1

    out = {}
    for name, fn in (("python_loop_ms", python_loop), ("duckdb_scan_ms", duckdb_scan),
                     ("process_start_ms", process_start), ("page_touch_256mib_ms", page_touch)):
        out[name] = statistics.median(_timed(fn)[0] for _ in range(repeat)) * 1000
    con.close()
    return out


def versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in ("apache-airflow", "astronomer-cosmos", "dbt-core", "dbt-duckdb",
                                              "great-expectations", "duckdb")}


def _timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="haderslev,kl")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--kl-repeat", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, dict] = {}
    speed_before = machine_speed()
    print("machine speed before: " + ", ".join(f"{k} {v:.0f}" for k, v in speed_before.items()))
    with tempfile.TemporaryDirectory(prefix="bench_pipeline_") as tmp:
        for scale in args.scales.split(","):
            results[scale] = bench_scale(scale, args.kl_repeat if scale == "kl" else args.repeat, Path(tmp))
        parse = dag_parse_times(Path(tmp) / args.scales.split(",")[0] / "airflow")
    speed = {"before": speed_before, "after": machine_speed()}
    print(f"\nmachine: {os.cpu_count()} cores, Python {platform.python_version()}, "
          + ", ".join(f"{k} {v}" for k, v in versions().items()))
    print("machine speed (ms, median of 5; lower is faster), before/after the runs: " + ", ".join(
        f"{k} {speed['before'][k]:.0f}/{speed['after'][k]:.0f}" for k in speed["before"]))
    print("DAG parse (airflow dags report, median of 3): "
          + ", ".join(f"{name} {sec * 1000:.0f} ms" for name, sec in parse.items()))
    for scale, r in results.items():
        stages = ", ".join(f"{k} {r['full'][k]:.1f}" for k in STAGES)
        print(f"{scale:>9}: full {r['full']['wall']:.1f} s ({stages}); unchanged {r['unchanged']:.1f} s; "
              f"new wave {r['new_wave']:.1f} s; peak RSS {r['full']['peak_rss_mib']:.0f} MiB "
              f"(PSS {r['full']['peak_pss_mib']:.0f} MiB); "
              f"ingest {r['ingest_ours_s']:.1f} s vs plain reader {r['ingest_plain_s']:.1f} s")
    checks = []
    if "haderslev" in results:
        h = results["haderslev"]
        checks.append(("haderslev end-to-end ≤ 60 s", h["full"]["wall"], h["full"]["wall"] <= 60))
    # The issue names no scale for the two incremental targets: both scales are measured and printed.
    for scale, r in results.items():
        checks += [(f"unchanged re-run ≤ 25 % of a full run ({scale})", r["unchanged"] / r["full"]["wall"],
                    r["unchanged"] <= 0.25 * r["full"]["wall"]),
                   (f"one new wave ≤ 50 % of a full run ({scale})", r["new_wave"] / r["full"]["wall"],
                    r["new_wave"] <= 0.5 * r["full"]["wall"])]
    if "kl" in results:
        k = results["kl"]
        if "haderslev" in results:
            ratio = k["full"]["wall"] / results["haderslev"]["full"]["wall"]
            checks.append(("kl ≤ 3 × haderslev", ratio, ratio <= 3))
        checks += [("peak RSS at kl ≤ 2 GiB (MiB, summed over the process tree)", k["full"]["peak_rss_mib"],
                    k["full"]["peak_rss_mib"] <= 2048),
                   ("ingest ≥ 0.7 × the raw reader (kl)", k["ingest_ratio"], k["ingest_ratio"] >= 0.7)]
    print()
    for name, value, ok in checks:
        print(f"{'✓' if ok else '✗'} {name}: {value:.2f}")
    out = Path(__file__).parent / "results" / f"{time.strftime('%Y-%m-%d')}.json"
    out.write_text(json.dumps({"cores": os.cpu_count(), "python": platform.python_version(),
                               "versions": versions(), "machine_speed_ms": speed, "dag_parse_s": parse,
                               "results": results,
                               "checks": [{"name": n, "value": v, "ok": ok} for n, v, ok in checks]},
                              indent=2, default=str))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
