"""The keyed pseudonyms: standard HMAC-SHA256, once per distinct value, CPR digits normalised."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import pyarrow as pa
from maturity.ingest.pseudonymise import cpr_digits, hmac_sha256_b32, keyed_hash


def test_fast_hmac_equals_standard_hmac_for_short_and_long_keys() -> None:
    for key in (b"k" * 16, b"x" * 64, b"long" * 40):
        digest = hmac_sha256_b32(key)
        for value in ("0101801234", "00017", "æøå", ""):
            mac = hmac.new(key, value.encode(), hashlib.sha256).digest()
            assert digest(value) == base64.b32encode(mac).decode().rstrip("=").lower()
            assert not re.search(r"[0189]", digest(value))  # no CPR-shaped digit run is possible


def test_keyed_hash_keeps_nulls_and_maps_equal_values_to_equal_keys() -> None:
    out = keyed_hash(b"k" * 32, pa.array(["a", None, "b", "a"])).to_pylist()
    assert out[1] is None
    assert out[0] == out[3] != out[2]


def test_cpr_digits_strip_quoting_and_hyphen_and_reject_other_shapes() -> None:
    values = pa.array(['="010180-1234"', " 0101801234 ", "010180-123", "abc", None])
    assert cpr_digits(values).to_pylist() == ["0101801234", "0101801234", None, None, None]


def test_vectorised_base32_equals_the_standard_encoder() -> None:
    values = [str(i) for i in range(2000)] + ["æøå", "", " 00017 ", "x" * 300]
    for key in (b"k" * 16, b"x" * 64, b"long" * 40):
        expected = [base64.b32encode(hmac.new(key, v.encode(), hashlib.sha256).digest()).decode().rstrip("=").lower()
                    for v in values]
        assert keyed_hash(key, pa.array(values)).to_pylist() == expected


def test_keyed_hash_of_empty_and_all_null_columns() -> None:
    assert keyed_hash(b"k" * 32, pa.array([], pa.string())).to_pylist() == []
    assert keyed_hash(b"k" * 32, pa.array([None, None], pa.string())).to_pylist() == [None, None]
