"""Keyed pseudonyms for SD Løn files, applied before any row reaches DuckDB (SPEC §2.5).

The SD files are tokenised by Arrow's C++ CSV reader in this process; CPR numbers and
Tjenestenumre are replaced by HMAC-SHA256 pseudonyms and the name column is emptied in the Arrow
table, and only then is the table handed to DuckDB. The HMAC itself runs once per distinct value.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from maturity.errors import LandingError
from maturity.ingest.dialect import Dialect, LandedFile
from maturity.ingest.reader import Batch, Reject, _number_lines, temp_name


def hmac_sha256_raw(key: bytes) -> Callable[[str], bytes]:
    """HMAC-SHA256 (RFC 2104) with the key's inner and outer hash states computed once: the 32-byte MAC.

    Copying two prepared SHA-256 states per value is ~3.5× faster than `hmac.new` per value, which
    matters at a million Tjenestenumre; `test_pseudonymise` checks it against `hmac`.
    """
    block = hashlib.sha256(key).digest() if len(key) > 64 else key
    block = block.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def digest(value: str) -> bytes:
        h = inner.copy()
        h.update(value.encode("utf-8"))
        o = outer.copy()
        o.update(h.digest())
        return o.digest()

    return digest


def hmac_sha256_b32(key: bytes) -> Callable[[str], str]:
    """The pseudonym of one value: its HMAC-SHA256 in lower-case base32 (52 characters), not hex.

    Base32 has no digits 0, 1, 8 or 9, so a pseudonym can never contain a run of digits shaped like a
    CPR number (a month needs a 0 or a 1) — a hex digest often does, and would trip every CPR scan.
    :func:`keyed_hash` computes the same for a whole column at once.
    """
    mac = hmac_sha256_raw(key)

    def digest(value: str) -> str:
        return base64.b32encode(mac(value)).decode("ascii").rstrip("=").lower()

    return digest


_B32_ALPHABET = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz234567", dtype=np.uint8)
_B32_CHARS = 52  # 256 bits in 5-bit characters, without the "====" padding
# Character i holds bits 5i..5i+4 of the digest: the two bytes around them, shifted and masked.
_B32_BYTE = np.arange(_B32_CHARS) * 5 // 8
_B32_SHIFT = (11 - np.arange(_B32_CHARS) * 5 % 8).astype(np.uint16)


def b32_lower(digests: bytes, count: int) -> pa.Array:
    """Lower-case unpadded base32 of `count` concatenated 32-byte digests, vectorised with numpy.

    Equal to ``base64.b32encode(d).decode().rstrip("=").lower()`` for each digest (checked in
    test_pseudonymise); the pure-Python encoder cost more than the HMACs themselves.
    """
    raw = np.zeros((count, 33), dtype=np.uint16)  # one zero byte after the digest: the encoder's padding bits
    raw[:, :32] = np.frombuffer(digests, dtype=np.uint8).reshape(count, 32)
    pairs = (raw[:, _B32_BYTE] << 8) | raw[:, _B32_BYTE + 1]
    text = _B32_ALPHABET[(pairs >> _B32_SHIFT) & 31].tobytes()
    offsets = np.arange(0, (count + 1) * _B32_CHARS, _B32_CHARS, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(text)])


# Pseudonyms already computed in this ingest, per key: the same people appear in every HR extract, so
# the second and third extract of a source need HMACs only for new identifiers (the HMAC, one Python
# call per value, is the largest cost of the HR ingest). Cleared by `forget()` when a source's ingest
# ends, so no identifier outlives it in memory.
_MEMO: dict[bytes, tuple[pa.Array, pa.Array]] = {}


def forget() -> None:
    """Drop every remembered identifier and pseudonym (end of a source's ingest)."""
    _MEMO.clear()


def keyed_hash(key: bytes, values: pa.Array) -> pa.Array:
    """HMAC-SHA256 (base32) of each non-null string, computed once per distinct value (and ingest)."""
    distinct = pc.unique(values.drop_null())
    memo_id = hashlib.sha256(b"memo" + key).digest()
    known_values, known_digests = _MEMO.get(memo_id, (pa.array([], pa.string()), pa.array([], pa.string())))
    new = pc.filter(distinct, pc.is_null(pc.index_in(distinct, known_values)))
    digest = hmac_sha256_raw(key)
    fresh = b32_lower(b"".join(map(digest, new.to_pylist())), len(new))
    all_values = pa.concat_arrays([known_values, new.cast(pa.string())])
    all_digests = pa.concat_arrays([known_digests, fresh])
    _MEMO[memo_id] = (all_values, all_digests)
    return pc.take(all_digests, pc.index_in(values, all_values))


def clean_identifier(values: pa.Array) -> pa.Array:
    """Trim and remove Excel quoting (`="00017"`); leading zeros are kept."""
    trimmed = pc.utf8_trim_whitespace(values)
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(trimmed, r'^="(.*)"$', r"\1"))


def cpr_digits(values: pa.Array) -> pa.Array:
    """The 10 digits of a CPR number (hyphen and quoting removed), null when not 10 digits."""
    digits = pc.replace_substring_regex(clean_identifier(values), r"[-\s]", "")
    ok = pc.fill_null(pc.match_substring_regex(digits, r"^[0-9]{10}$"), False)
    return pc.if_else(ok, digits, pa.scalar(None, pa.string()))


def read_pseudonymised(
    con: duckdb.DuckDBPyConnection,
    f: LandedFile,
    dialect: Dialect,
    key: bytes,
    *,
    cpr: int | None = None,
    employment: int | None = None,
    drop: tuple[int, ...] = (),
) -> Batch:
    """Read an SD CSV file into a DuckDB temp table with identifiers already pseudonymised.

    Column `cpr` becomes the person key (null when the CPR is not 10 digits; column
    `_cpr_invalid` then says so), column `employment` the employment key, columns in `drop` are
    emptied. Rows the tokenizer cannot split come back as rejects, their text withheld because they
    may hold a CPR number or a name.
    """
    ncols = len(dialect.columns)
    rejects: list[Reject] = []

    def on_invalid(row: pcsv.InvalidRow) -> str:
        rejects.append(Reject(int(row.number or 0),
                              f"unparseable row (expected {row.expected_columns} columns, "
                              f"found {row.actual_columns})", None))
        return "skip"

    names = [f"c{i}" for i in range(ncols)]
    try:
        table = pcsv.read_csv(
            pa.BufferReader(f.data),
            read_options=pcsv.ReadOptions(
                encoding={"utf-8": "utf-8-sig", "utf-16": "utf-16", "cp1252": "cp1252"}[dialect.encoding],
                skip_rows=dialect.header_line, column_names=names, use_threads=False,
            ),
            parse_options=pcsv.ParseOptions(
                delimiter=dialect.delimiter, quote_char='"', double_quote=True, newlines_in_values=True,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pcsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=True,
                quoted_strings_can_be_null=True, null_values=[""],  # only empty cells; "NA" is text
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0]
        raise LandingError(f.rel, f"it cannot be read as {dialect.encoding} CSV ({first})") from None
    columns = {n: table.column(n).combine_chunks() for n in names}
    invalid_cpr = pa.array(np.zeros(table.num_rows, dtype=bool))
    if cpr is not None:
        raw = columns[names[cpr]]
        digits = cpr_digits(raw)
        invalid_cpr = pc.fill_null(pc.is_null(digits), True)
        columns[names[cpr]] = keyed_hash(key, digits)
    if employment is not None:
        columns[names[employment]] = keyed_hash(key, pc.utf8_trim_whitespace(
            pc.if_else(pc.equal(clean_identifier(columns[names[employment]]), ""),
                       pa.scalar(None, pa.string()), clean_identifier(columns[names[employment]]))))
    for i in drop:
        columns[names[i]] = pa.nulls(table.num_rows, pa.string())
    columns["_cpr_invalid"] = invalid_cpr
    columns["_ord"] = pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    arrow = pa.table(columns)
    name = temp_name("sd")
    con.register(f"{name}_arrow", arrow)
    con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
    con.unregister(f"{name}_arrow")
    _number_lines(con, name, f, dialect, rejects, parser="arrow")
    return Batch(name, ncols, table.num_rows, rejects)
