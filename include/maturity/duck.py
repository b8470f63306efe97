"""DuckDB connections with the offline extension wheels and the shared SQL macros.

`INSTALL excel` would try to download; the pinned `duckdb-extension-*` wheels carry the binaries,
so we LOAD them from site-packages. This works on an air-gapped municipal server too.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import duckdb

# Macros used by every reader, so that quirks (Excel-quoted cells, Danish numbers and dates,
# CPR-shaped strings in free text) are handled by one definition in SQL, inside DuckDB.
MACROS = r"""
-- Excel quoting ="…": the inside of a trimmed cell that starts with =" and ends with " (at least 3 characters),
-- trimmed — what regexp_replace(trim(v), '^="(.*)"$', '\1', 's') leaves, at less than half its cost.
CREATE OR REPLACE TEMP MACRO unquote(v) AS
    CASE WHEN starts_with(trim(v), '="') AND ends_with(trim(v), '"') AND length(trim(v)) >= 3
         THEN nullif(trim(substr(trim(v), 3, length(trim(v)) - 3)), '')
         ELSE nullif(trim(v), '') END;
CREATE OR REPLACE TEMP MACRO finite(x) AS CASE WHEN isfinite(x) THEN x END;  -- 'nan', 'inf', '1e400' are no amounts
CREATE OR REPLACE TEMP MACRO parse_num(v, danish) AS
    finite(TRY_CAST(CASE WHEN danish THEN replace(replace(replace(unquote(v), ' ', ''), '.', ''), ',', '.')
                         ELSE replace(unquote(v), ' ', '') END AS DOUBLE));
CREATE OR REPLACE TEMP MACRO parse_date(v, excel) AS
    CASE WHEN unquote(v) IS NULL THEN NULL
         WHEN excel AND regexp_full_match(unquote(v), '[0-9]+(\.[0-9]+)?')  -- a serial up to 31.12.9999
         THEN CASE WHEN CAST(unquote(v) AS DOUBLE) < 2958466
                   THEN DATE '1899-12-30' + CAST(floor(CAST(unquote(v) AS DOUBLE)) AS INTEGER) END
         WHEN regexp_full_match(unquote(v), '[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}')
         THEN CAST(try_strptime(unquote(v), '%d.%m.%Y') AS DATE)
         WHEN regexp_full_match(unquote(v), '[0-9]{1,2}-[0-9]{1,2}-[0-9]{4}')
         THEN CAST(try_strptime(unquote(v), '%d-%m-%Y') AS DATE)
         ELSE CAST(coalesce(try_strptime(unquote(v), '%Y-%m-%d'),
                            try_strptime(unquote(v), '%Y-%m-%d %H:%M:%S')) AS DATE) END;
CREATE OR REPLACE TEMP MACRO fold_label(v) AS
    nullif(trim(regexp_replace(replace(replace(replace(replace(lower(v), chr(160), ' '), chr(8217), ''''),
                               chr(8216), ''''), chr(8239), ' '), '\s+', ' ', 'g')), '');
CREATE OR REPLACE TEMP MACRO is_cpr(t) AS
    regexp_full_match(t, '[0-9]{6}-?[0-9]{4}') AND try_strptime(left(t, 6), '%d%m%y') IS NOT NULL;
CREATE OR REPLACE TEMP MACRO cpr_tokens(v) AS
    list_filter(regexp_extract_all(coalesce(v, ''), '[0-9][0-9-]*[0-9]'), t -> is_cpr(t));
CREATE OR REPLACE TEMP MACRO has_cpr(v) AS
    coalesce(regexp_matches(v, '[0-9]{6}-?[0-9]{4}'), false) AND len(cpr_tokens(v)) > 0;
-- Split into digit runs and the text between them and replace whole runs only, so that a CPR-shaped
-- run is redacted while a longer digit run that merely contains one is left alone.
CREATE OR REPLACE TEMP MACRO redact_cpr(v) AS
    CASE WHEN NOT has_cpr(v) THEN v
         ELSE array_to_string(list_transform(regexp_extract_all(v, '[0-9][0-9-]*[0-9]|[0-9]|[^0-9]+'),
                                             t -> CASE WHEN is_cpr(t) THEN '[CPR]' ELSE t END), '') END;
"""


def extension_path(name: str) -> Path:
    """Path of the extension binary shipped in the `duckdb-extension-<name>` wheel."""
    module = importlib.import_module(f"duckdb_extension_{name}")
    base = Path(module.__file__).parent / "extensions"
    found = sorted(base.glob(f"v{duckdb.__version__}/{name}.duckdb_extension")) or sorted(
        base.glob(f"*/{name}.duckdb_extension")
    )
    if not found:
        raise RuntimeError(f"The {name} extension binary is missing from duckdb_extension_{name}.")
    return found[0]


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    con.execute(f"LOAD '{extension_path(name)}'")


#: Every connection of ours: no extension is ever downloaded or auto-loaded; binaries are LOADed by their
#: full path inside the installed, pinned `duckdb-extension-*` wheels, and DuckDB still verifies their
#: signatures (allowing unsigned extensions would be ~0.7 s faster per `encodings` LOAD, but would let any
#: LOAD statement run any binary).
CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def connect(path: Path | str = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a connection with the excel extension and the macros; `encodings` loads on demand."""
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only, config=dict(CONFIG))
    load_extension(con, "excel")
    con.execute(MACROS)
    return con


def ensure_encodings(con: duckdb.DuckDBPyConnection) -> None:
    """Load the ICU encodings extension (Windows-1252) only when a file needs it (~0.7 s: its 350 MB binary's
    signature is checked on every LOAD)."""
    loaded = con.execute(
        "SELECT count(*) FROM duckdb_extensions() WHERE extension_name = 'encodings' AND loaded"
    ).fetchone()[0]
    if not loaded:
        load_extension(con, "encodings")
