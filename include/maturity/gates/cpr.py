"""CPR-shaped strings: the pattern the suites scan every text column with, and redaction of examples.

A CPR number is DDMMYY-SSSS or DDMMYYSSSS bounded by non-digits (SPEC §2.8). The regular expression
checks the day (01–31) and month (01–12) but not the calendar (it flags 310290-1234 too): a gate may
over-report, never under-report. The same pattern lives in every suite's
``expect_column_values_to_not_match_regex`` (a unit test keeps them equal), and everything a gate writes
— failure examples, the validation results JSON and HTML — passes through :func:`redact` first, so a
gate report never repeats the CPR number it found.

The suites' pattern matches the bounding non-digit (or the start/end of the text) instead of looking
around it. For "does the text contain one" that is the same question, and it is a pattern RE2 can run:
pandas' Arrow-backed strings then scan a column in C++ rather than calling Python's `re` once per cell
(0.72 s -> 0.15 s for a column of 2 million file names). Redaction replaces only the number itself, so
it uses the look-around form.
"""

from __future__ import annotations

import re
from typing import Any

_NUMBER = r"(?:0[1-9]|[12][0-9]|3[01])(?:0[1-9]|1[0-2])[0-9]{2}-?[0-9]{4}"
CPR_REGEX = rf"(?:^|[^0-9]){_NUMBER}(?:[^0-9]|$)"  # the suites' pattern (contains a CPR number)
_CPR = re.compile(rf"(?<![0-9]){_NUMBER}(?![0-9])")  # the number alone, for redaction
REDACTED = "[CPR]"


def has_cpr(text: str) -> bool:
    return _CPR.search(text) is not None


def redact(value: Any) -> Any:
    """`value` with every CPR-shaped run in its strings (dict keys and values, lists, nested) replaced."""
    if isinstance(value, str):
        return _CPR.sub(REDACTED, value)
    if isinstance(value, dict):
        return {redact(k): redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value
