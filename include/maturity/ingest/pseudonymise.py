"""Keyed pseudonyms for SD Løn files, applied before any row reaches DuckDB (SPEC §2.5).

The SD files are tokenised by Arrow's C++ CSV reader in this process; CPR numbers and
Tjenestenumre are replaced by HMAC-SHA256 pseudonyms and the name column is emptied in the Arrow
table, and only then is the table handed to DuckDB. The HMAC itself runs once per distinct value.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from maturity import forked
from maturity.errors import LandingError
from maturity.ingest.dialect import Dialect, LandedFile
from maturity.ingest.reader import Batch, Reject, line_numbers, temp_name


def _pads(key: bytes) -> tuple[Any, Any]:
    """The SHA-256 states after the key's inner and outer pad block (RFC 2104), computed once per key."""
    block = hashlib.sha256(key).digest() if len(key) > 64 else key
    block = block.ljust(64, b"\0")
    return hashlib.sha256(bytes(b ^ 0x36 for b in block)), hashlib.sha256(bytes(b ^ 0x5C for b in block))


def hmac_sha256_raw(key: bytes) -> Callable[[str], bytes]:
    """HMAC-SHA256 (RFC 2104) with the key's inner and outer hash states computed once: the 32-byte MAC.

    Copying two prepared SHA-256 states per value is ~3.5× faster than `hmac.new` per value, which
    matters at a million Tjenestenumre; `test_pseudonymise` checks it against `hmac`.
    """
    inner, outer = _pads(key)

    def digest(value: str) -> bytes:
        h = inner.copy()
        h.update(value.encode("utf-8"))
        o = outer.copy()
        o.update(h.digest())
        return o.digest()

    return digest


def hmac_sha256_concat(key: bytes, values: list[bytes]) -> bytes:
    """The 32-byte HMAC-SHA256 of each (UTF-8 encoded) value, concatenated — :func:`hmac_sha256_raw` for a
    whole list, with the method look-ups hoisted out of the loop (the one Python step per distinct value)."""
    inner, outer = _pads(key)
    inner_copy, outer_copy = inner.copy, outer.copy
    out: list[bytes] = []
    append = out.append
    for value in values:
        h = inner_copy()
        h.update(value)
        o = outer_copy()
        o.update(h.digest())
        append(o.digest())
    return b"".join(out)


#: From this many new values on, a forked helper hashes half of them (below it a fork costs more than it saves).
PARALLEL_MIN = 40_000
#: Seconds the helper may take for its half before the parent hashes that half itself.
HELPER_TIMEOUT = 60.0
# The helper's work: inherited by the forked child, never pickled or written anywhere; emptied right after.
_SHARED: dict[str, Any] = {}


def _hash_upper_half() -> bytes:
    key, values = _SHARED["key"], _SHARED["values"]
    return hmac_sha256_concat(key, values[len(values) // 2:])


def hmac_sha256_many(key: bytes, values: list[bytes]) -> bytes:
    """:func:`hmac_sha256_concat`, split over this process and one forked helper for large lists.

    The child inherits the values and the key at the fork and sends back only the 32-byte MACs; if it
    cannot be started, fails or times out, this process hashes its half too (see `maturity.forked`).
    """
    if len(values) < PARALLEL_MIN or threading.current_thread() is not threading.main_thread():
        return hmac_sha256_concat(key, values)  # a background thread (see sd_loen.Prefetch) never forks
    half = len(values) // 2
    _SHARED.update(key=key, values=values)
    executor = forked.pool(1)
    try:
        try:
            job = executor.submit(_hash_upper_half) if executor is not None else None
        except Exception:  # noqa: BLE001 - no helper: this process does all the work
            job = None
        lower = hmac_sha256_concat(key, values[:half])
        upper = forked.result(job, timeout=HELPER_TIMEOUT)
    finally:
        _SHARED.clear()
        forked.close(executor)
    if forked.missing(upper) or len(upper) != 32 * (len(values) - half):
        upper = hmac_sha256_concat(key, values[half:])
    return lower + upper


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


_B32_CHARS = 52  # 256 bits in 5-bit characters, without the "====" padding


def b32_lower(digests: bytes, count: int) -> pa.Array:
    """Lower-case unpadded base32 of `count` concatenated 32-byte digests, vectorised with numpy.

    Equal to ``base64.b32encode(d).decode().rstrip("=").lower()`` for each digest (checked in
    test_pseudonymise); the pure-Python encoder cost more than the HMACs themselves. Each digest,
    padded with zero bytes to 35, is 7 groups of 5 bytes = 8 characters of 5 bits; the last 4 of the 56
    characters are padding and dropped.
    """
    raw = np.zeros((count, 35), dtype=np.uint8)
    raw[:, :32] = np.frombuffer(digests, dtype=np.uint8).reshape(count, 32)
    g = raw.reshape(count, 7, 5)
    b0, b1, b2, b3, b4 = (g[..., i] for i in range(5))
    five = np.empty((count, 7, 8), dtype=np.uint8)
    five[..., 0] = b0 >> 3
    five[..., 1] = ((b0 & 7) << 2) | (b1 >> 6)
    five[..., 2] = (b1 >> 1) & 31
    five[..., 3] = ((b1 & 1) << 4) | (b2 >> 4)
    five[..., 4] = ((b2 & 15) << 1) | (b3 >> 7)
    five[..., 5] = (b3 >> 2) & 31
    five[..., 6] = ((b3 & 3) << 3) | (b4 >> 5)
    five[..., 7] = b4 & 31
    chars = five.reshape(count, 56)[:, :_B32_CHARS]
    text = (chars + np.where(chars < 26, np.uint8(ord("a")), np.uint8(ord("2") - 26))).tobytes()  # a-z, 2-7
    offsets = np.arange(0, (count + 1) * _B32_CHARS, _B32_CHARS, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(text)])


# Pseudonyms already computed in this ingest, per key: the same people appear in every HR extract, so
# the second and third extract of a source need HMACs only for new identifiers (the HMAC, one Python
# call per value, is the largest cost of the HR ingest). Cleared by `forget()` when a source's ingest
# ends, so no identifier outlives it in memory.
# One memo per key and kind of identifier (CPR numbers, Tjenestenumre): looking values up in a memo builds a hash
# table of it, so a memo of only the kind looked up is half the work.
_MEMO: dict[tuple[bytes, str], tuple[pa.Array, pa.Array]] = {}


_MEMO_LOCK = threading.Lock()


def forget() -> None:
    """Drop every remembered identifier and pseudonym (end of a source's ingest)."""
    _MEMO.clear()


def _keyed_hash_encoded(key: bytes, values: pa.Array, kind: str = "") -> tuple[pa.Array, pa.DictionaryArray]:
    """:func:`keyed_hash`, and the dictionary encoding of `values` it used (distinct values, row indices)."""
    encoded = pc.dictionary_encode(values)
    distinct = encoded.dictionary.cast(pa.string())
    memo_id = (hashlib.sha256(b"memo" + key).digest(), kind)
    with _MEMO_LOCK:
        known_values, known_digests = _MEMO.get(memo_id, (pa.array([], pa.string()), pa.array([], pa.string())))
    at = None
    new = distinct
    if len(known_values) and len(distinct):
        at = pc.index_in(distinct, value_set=known_values)
        new = pc.filter(distinct, pc.is_null(at))
    fresh = b32_lower(hmac_sha256_many(key, new.cast(pa.binary()).to_pylist()), len(new))
    all_digests = pa.concat_arrays([known_digests, fresh])
    with _MEMO_LOCK:  # (a concurrent call may have added values meanwhile: the memo keeps the larger one)
        if len(_MEMO.get(memo_id, (known_values,))[0]) <= len(known_values):
            _MEMO[memo_id] = (pa.concat_arrays([known_values, new]), all_digests)
    if at is None:
        per_distinct = fresh
    else:  # known values point into the memo; new ones follow it, in the order of `distinct`
        pos = pc.fill_null(at, -1).to_numpy().astype(np.int64)
        unknown = pos < 0
        pos[unknown] = len(known_values) + np.arange(int(unknown.sum()))
        per_distinct = pc.take(all_digests, pa.array(pos))
    return pc.take(per_distinct, encoded.indices), encoded


def keyed_hash(key: bytes, values: pa.Array, kind: str = "") -> pa.Array:
    """HMAC-SHA256 (base32) of each non-null string, computed once per distinct value (and ingest; the memo of
    `kind`)."""
    return _keyed_hash_encoded(key, values, kind)[0]


def clean_identifier(values: pa.Array) -> pa.Array:
    """Trim and remove Excel quoting (`="00017"`); leading zeros are kept.

    The same as trimming, replacing ``^="(.*)"$`` (no line break inside: `.` does not match one) with the
    inside and trimming again, without a regular expression per cell.
    """
    trimmed = pc.utf8_trim_whitespace(values)
    quoted = pc.and_(pc.and_(pc.starts_with(trimmed, '="'), pc.ends_with(trimmed, '"')),
                     pc.and_(pc.greater_equal(pc.binary_length(trimmed), 3),
                             pc.invert(pc.match_substring(trimmed, "\n"))))
    return pc.utf8_trim_whitespace(pc.if_else(quoted, pc.utf8_slice_codeunits(trimmed, 2, -1), trimmed))


_NO_STRING = pa.scalar(None, pa.string())


def cpr_digits(values: pa.Array) -> pa.Array:
    """The 10 digits of a CPR number (hyphen and quoting removed), null when not 10 digits."""
    cleaned = clean_identifier(values)
    # Fast path: without its hyphens the cell is 10 ASCII digits (then removing hyphens and whitespace gives
    # the same). The other cells go through the general rule: remove [-\s], then exactly 10 digits.
    plain = pc.replace_substring(cleaned, "-", "")
    fast = pc.fill_null(pc.and_(pc.equal(pc.binary_length(plain), 10), pc.ascii_is_decimal(plain)), False)
    out = pc.if_else(fast, plain, _NO_STRING)
    rest = pc.and_(pc.invert(fast), pc.is_valid(cleaned))
    if pc.any(rest).as_py():
        digits = pc.replace_substring_regex(pc.filter(cleaned, rest), r"[-\s]", "")
        ok = pc.fill_null(pc.match_substring_regex(digits, r"^[0-9]{10}$"), False)
        out = pc.replace_with_mask(out, rest, pc.if_else(ok, digits, _NO_STRING))
    return out


#: DuckDB's row group size: the Arrow batches handed to it.
ROW_GROUP = 122_880


def release(con: duckdb.DuckDBPyConnection, batch: Batch) -> None:
    """Unregister the Arrow view of a batch from :func:`read_pseudonymised` once it has been loaded."""
    con.unregister(batch.table)


@dataclass
class Pseudonymised:
    """An SD file tokenised by Arrow with its identifiers pseudonymised: nothing in it can identify a person."""

    table: pa.Table
    ncols: int
    rejects: list[Reject]


def read_pseudonymised(con: duckdb.DuckDBPyConnection, p: Pseudonymised) -> Batch:
    """Hand an SD file pseudonymised by :func:`pseudonymise` to DuckDB (a registered Arrow view; see
    :func:`release`).

    Handed over as a registered Arrow view, not copied into a temp table: the caller scans it once (its
    checked rows are materialised) and then unregisters it. Batches of a row group's size let DuckDB scan
    it on all threads, in order.
    """
    name = temp_name("sd")
    con.register(name, p.table)
    return Batch(name, p.ncols, p.table.num_rows, p.rejects)


def pseudonymise(
    f: LandedFile,
    dialect: Dialect,
    key: bytes,
    *,
    cpr: int | None = None,
    employment: int | None = None,
    drop: tuple[int, ...] = (),
) -> Pseudonymised:
    """Tokenise an SD CSV file with Arrow and pseudonymise it, without DuckDB (safe in a background thread).

    Column `cpr` becomes the person key (null when the CPR is not 10 digits; column
    `_cpr_invalid` then says so), column `employment` the employment key (column
    `_n_same_employment`: how many rows of the file share it), columns in `drop` are emptied. Rows
    the tokenizer cannot split come back as rejects, their text withheld because they may hold a
    CPR number or a name.
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
    rows = table.num_rows
    invalid_cpr = pa.array(np.zeros(rows, dtype=bool))
    same_employment = None
    if cpr is not None:
        digits = cpr_digits(columns[names[cpr]])
        invalid_cpr = pc.fill_null(pc.is_null(digits), True)
        columns[names[cpr]] = keyed_hash(key, digits, "cpr")
    if employment is not None:
        cleaned = clean_identifier(columns[names[employment]])
        columns[names[employment]], encoded = _keyed_hash_encoded(
            key, pc.if_else(pc.equal(cleaned, ""), _NO_STRING, cleaned), "employment")
        # Rows per employment key (empty keys count as one group), from the encoding the hash used anyway.
        groups = pc.fill_null(encoded.indices, len(encoded.dictionary)).to_numpy().astype(np.int64)
        same_employment = np.bincount(groups, minlength=len(encoded.dictionary) + 1)[groups]
    for i in drop:
        columns[names[i]] = pa.nulls(rows, pa.string())
    columns["_cpr_invalid"] = invalid_cpr
    if same_employment is not None:
        columns["_n_same_employment"] = pa.array(same_employment, pa.int64())
    columns["_line"] = pa.array(line_numbers(rows, f, dialect, rejects, parser="arrow"))
    table = pa.table(columns)
    arrow = pa.Table.from_batches(table.to_batches(max_chunksize=ROW_GROUP), schema=table.schema)
    return Pseudonymised(arrow, ncols, rejects)
