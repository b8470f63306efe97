"""Incremental intermediate models (dbt_project/macros/incremental_builds.sql).

A wave (an HR extract) is computed again only when something it is a function of changed — its landed
snapshot, the HR extract whose tree it uses, the reference data, its mapping, the code — and the tables
then hold exactly what a build from scratch gives. To see what a build computed, each test first plants
a marker in one row of every wave and extract (a value no computation produces): a marker that survives
the build shows a wave that was not computed again; a vanished one, a wave that was.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from maturity import transform
from maturity.demo import generate
from maturity.ingest.run import SOURCES, ingest_source
from maturity.settings import Settings
from maturity.transform import run_dbt

pytestmark = pytest.mark.slow

KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#: model -> (key columns, partition column, the column the marker goes in, the marker)
INCREMENTAL = {
    "int_respondent_dimensions_scored": (["wave_id", "respondent_id", "dimension_id"], "wave_id", "cur_rd", "-99"),
    "int_unit_scores_pooled": (["wave_id", "org_unit_id", "dimension_id"], "wave_id", "current_sum", "-99"),
    "int_unit_scores_suppressed": (["wave_id", "dimension_id", "org_unit_id"], "wave_id", "depth", "-99"),
    "int_alignment_cells": (["wave_id", "dimension_id", "block_org_unit_id", "role_class"], "wave_id",
                            "n_respondents", "-99"),
    "int_alignment_checked": (["wave_id", "dimension_id"], "wave_id", "disclosure_witness", "'planted'"),
    "int_persons_placed": (["extract_date", "person_key"], "extract_date", "fte", "-99"),
    "int_capacity_pooled": (["extract_date", "org_unit_id"], "extract_date", "headcount", "-99"),
    "int_capacity_suppressed": (["extract_date", "org_unit_id"], "extract_date", "depth", "-99"),
}
WAVE_MODELS = [m for m, (_k, part, _c, _v) in INCREMENTAL.items() if part == "wave_id"]
EXTRACT_MODELS = [m for m, (_k, part, _c, _v) in INCREMENTAL.items() if part == "extract_date"]


def _ingest(settings: Settings) -> None:
    for source in SOURCES:
        report = ingest_source(settings, source, progress=lambda _m: None)
        assert not report.errors, f"{source}: {report.errors}"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo without its last wave (T3), ingested and built once; each test works on a copy."""
    root = tmp_path_factory.mktemp("incremental")
    generate(root / "demo", "haderslev", 42)
    landing = root / "landing"
    shutil.copytree(root / "demo", landing)
    shutil.rmtree(landing / "surveys" / "T3")
    settings = Settings(landing, root / "warehouse", KEY)
    _ingest(settings)
    run_dbt(settings, ["run"], progress=lambda _m: None)
    return {"demo": root / "demo", "landing": landing, "warehouse": root / "warehouse"}


def _copy(base: dict[str, Path], tmp_path: Path) -> Settings:
    shutil.copytree(base["landing"], tmp_path / "landing")
    shutil.copytree(base["warehouse"], tmp_path / "warehouse")
    return Settings(tmp_path / "landing", tmp_path / "warehouse", KEY)


def _plant(settings: Settings) -> dict[str, dict[object, tuple]]:
    """Set the marker in one row per wave/extract of each model; returns where (key, original value)."""
    planted: dict[str, dict[object, tuple]] = {}
    with duckdb.connect(str(settings.warehouse_db)) as con:
        for model, (key, part, column, mark) in INCREMENTAL.items():
            cols = ", ".join(key)
            rows = con.execute(f"SELECT {part}, arg_min(struct_pack({cols}, _v := {column}), ({cols})) "
                               f"FROM intermediate.{model} GROUP BY {part}").fetchall()
            planted[model] = {}
            for value, row in rows:
                where = " AND ".join(f"{c} IS NOT DISTINCT FROM ?" for c in key)
                con.execute(f"UPDATE intermediate.{model} SET {column} = {mark} WHERE {where}",
                            [row[c] for c in key])
                planted[model][value] = (tuple(row[c] for c in key), row["_v"])
    return planted


def _surviving(settings: Settings, planted: dict[str, dict[object, tuple]]) -> dict[str, set]:
    """Per model, the waves/extracts whose marker is still there (not computed again)."""
    out: dict[str, set] = {}
    with duckdb.connect(str(settings.warehouse_db), read_only=True) as con:
        for model, (key, _part, column, mark) in INCREMENTAL.items():
            where = " AND ".join(f"{c} IS NOT DISTINCT FROM ?" for c in key)
            out[model] = {value for value, (row, _) in planted[model].items()
                          if con.execute(f"SELECT count(*) FROM intermediate.{model} WHERE {where} AND {column} = "
                                         f"{mark}", list(row)).fetchone()[0]}
    return out


def _unplant(settings: Settings, planted: dict[str, dict[object, tuple]]) -> None:
    with duckdb.connect(str(settings.warehouse_db)) as con:
        for model, (key, _part, column, mark) in INCREMENTAL.items():
            where = " AND ".join(f"{c} IS NOT DISTINCT FROM ?" for c in key)
            for row, original in planted[model].values():
                con.execute(f"UPDATE intermediate.{model} SET {column} = ? WHERE {where} AND {column} = {mark}",
                            [original, *row])


def _partitions(settings: Settings, model: str) -> set:
    part = INCREMENTAL[model][1]
    with duckdb.connect(str(settings.warehouse_db), read_only=True) as con:
        return {r[0] for r in con.execute(f"SELECT DISTINCT {part} FROM intermediate.{model}").fetchall()}


def _assert_same_as_from_scratch(settings: Settings, tmp_path: Path) -> None:
    """The incremental tables equal a `--full-refresh` build of the same raw data (numbers within 1e-9,
    relative: DuckDB's parallel sums differ in the last bits between any two builds)."""
    scratch = Settings(settings.landing_dir, tmp_path / "scratch", KEY)
    shutil.copytree(settings.warehouse_dir, scratch.warehouse_dir)
    run_dbt(scratch, ["run", "--full-refresh"], progress=lambda _m: None)
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{settings.warehouse_db}' AS inc (READ_ONLY)")
        con.execute(f"ATTACH '{scratch.warehouse_db}' AS scratch (READ_ONLY)")
        for model, (key, *_rest) in INCREMENTAL.items():
            types = dict(con.execute(f"SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = "
                                     f"'scratch' AND table_name = '{model}'").fetchall())
            assert types, f"{model} missing from the from-scratch build"
            differs = []
            for column, type_ in types.items():
                if column in key:
                    continue
                a, b = f"i.{column}", f"f.{column}"
                if type_ in ("DOUBLE", "FLOAT") or type_.startswith("DECIMAL"):
                    differs.append(f"NOT ({a} IS NOT DISTINCT FROM {b} "
                                   f"OR abs({a} - {b}) <= 1e-9 * greatest(1, abs({b})))")
                else:
                    differs.append(f"{a} IS DISTINCT FROM {b}")
            on = " AND ".join(f"i.{c} IS NOT DISTINCT FROM f.{c}" for c in key)
            missing = f"i.{key[0]} IS NULL OR f.{key[0]} IS NULL"
            bad = con.execute(f"SELECT count(*) FROM inc.intermediate.{model} AS i "
                              f"FULL JOIN scratch.intermediate.{model} AS f ON {on} "
                              f"WHERE {missing} OR {' OR '.join(differs)}").fetchone()[0]
            assert bad == 0, f"{model}: {bad} row(s) differ from a build from scratch"


def test_a_new_wave_computes_that_wave_only(base: dict[str, Path], tmp_path: Path) -> None:
    settings = _copy(base, tmp_path)
    planted = _plant(settings)
    shutil.copytree(base["demo"] / "surveys" / "T3", settings.landing_dir / "surveys" / "T3")
    _ingest(settings)
    run_dbt(settings, ["run"], progress=lambda _m: None)

    surviving = _surviving(settings, planted)
    for model in WAVE_MODELS:
        assert surviving[model] == {"T0", "T1", "T2"}, f"{model} computed earlier waves again: {surviving[model]}"
        assert "T3" in _partitions(settings, model)
    for model in EXTRACT_MODELS:
        assert surviving[model] == set(planted[model]), f"{model}: HR extracts were computed again"
    _unplant(settings, planted)
    _assert_same_as_from_scratch(settings, tmp_path)


def test_a_build_with_nothing_changed_computes_nothing(base: dict[str, Path], tmp_path: Path) -> None:
    """E.g. a run after a new projects extract: every wave and extract is kept as it is (the Python
    model, given no rows to suppress again, writes none)."""
    settings = _copy(base, tmp_path)
    planted = _plant(settings)
    run_dbt(settings, ["run"], progress=lambda _m: None)
    assert _surviving(settings, planted) == {model: set(planted[model]) for model in INCREMENTAL}


def test_a_changed_wave_is_computed_again_and_a_removed_wave_deleted(base: dict[str, Path], tmp_path: Path) -> None:
    settings = _copy(base, tmp_path)
    planted = _plant(settings)
    dataset = settings.landing_dir / "surveys" / "T1" / "dataset.csv"
    lines = dataset.read_bytes().rstrip(b"\r\n").split(b"\n")
    dataset.write_bytes(b"\n".join(lines[:-1]) + b"\n")  # one respondent fewer: a corrected export of T1
    shutil.rmtree(settings.landing_dir / "surveys" / "T2")
    _ingest(settings)
    run_dbt(settings, ["run"], progress=lambda _m: None)

    surviving = _surviving(settings, planted)
    for model in WAVE_MODELS:
        assert surviving[model] == {"T0"}, f"{model}: markers left in {surviving[model]}"
        assert _partitions(settings, model) == {"T0", "T1"}, f"{model} still holds a removed wave"
    _unplant(settings, planted)
    _assert_same_as_from_scratch(settings, tmp_path)


def test_changed_code_computes_every_wave_again(base: dict[str, Path], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _copy(base, tmp_path)
    planted = _plant(settings)
    monkeypatch.setattr(transform, "code_fingerprint", lambda: "a changed model")
    run_dbt(settings, ["run"], progress=lambda _m: None)
    assert _surviving(settings, planted) == {model: set() for model in INCREMENTAL}


def test_without_a_code_fingerprint_every_build_computes_everything(base: dict[str, Path], tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`dbt build` by hand (no MATURITY_DBT_CODE): the build keys fall back to dbt's invocation id, so no
    wave is ever taken from an earlier build that may have run other code."""
    settings = _copy(base, tmp_path)
    monkeypatch.setattr(transform, "code_fingerprint", lambda: "")
    run_dbt(settings, ["run", "--select", "int_respondent_dimensions_scored"], progress=lambda _m: None)
    planted = _plant(settings)
    run_dbt(settings, ["run", "--select", "int_respondent_dimensions_scored"], progress=lambda _m: None)
    assert _surviving(settings, planted)["int_respondent_dimensions_scored"] == set()


def test_tables_built_before_build_keys_are_rebuilt_whole(base: dict[str, Path], tmp_path: Path) -> None:
    """An upgrade: the tables exist without `_build_key` (built by a version before incremental models).
    The first build computes every wave and extract; a wave removed in the same run leaves no row."""
    settings = _copy(base, tmp_path)
    with duckdb.connect(str(settings.warehouse_db)) as con:
        for model in INCREMENTAL:
            con.execute(f"ALTER TABLE intermediate.{model} DROP COLUMN _build_key")
    shutil.rmtree(settings.landing_dir / "surveys" / "T2")
    _ingest(settings)
    run_dbt(settings, ["run"], progress=lambda _m: None)
    for model in WAVE_MODELS:
        assert _partitions(settings, model) == {"T0", "T1"}, f"{model} still holds the removed wave"
    with duckdb.connect(str(settings.warehouse_db), read_only=True) as con:
        for model in INCREMENTAL:
            keyless = con.execute(f"SELECT count(*) FROM intermediate.{model} WHERE _build_key IS NULL").fetchone()
            assert keyless[0] == 0, f"{model}: {keyless[0]} row(s) without a build key"
    _assert_same_as_from_scratch(settings, tmp_path)
