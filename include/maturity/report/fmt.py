"""Danish formatting of figures and the `data-metric` tagging that lets tests read every number back.

Every figure in the report goes through `figure()` (or `missing()` for a null): the element carries
`data-metric="<table>.<column>"` and `data-key="<key values joined by |>"` so a test can look the
value up in the published marts. Optional attributes describe how the shown text relates to it:

- `data-scale`: the value was multiplied by this before formatting (e.g. 1e-6 for "mio. kr.");
  a text ending in "%" is the value × 100.
- `data-calc`: the figure is computed from several mart values: `diff:<column>` (this column minus
  <column> in the same row), `sum` (sum over the rows matching a key with `*`), `wavg:<column>`
  (mean weighted by <column> over those rows), `absdiff:<column>` (|diff|), `abs` (|value|).
- `data-type="text"` / `data-type="date"`: a text or date value; the raw value is in `data-value`.
"""

from __future__ import annotations

import datetime as dt
import math
from html import escape

MINUS = "\u2212"
NBSP = "\u00a0"
MONTHS = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
          "november", "december")
COUNT_WORDS = ("ingen", "én", "to", "tre", "fire", "fem", "seks", "syv", "otte", "ni", "ti", "elleve", "tolv")
BANDS = {"basis": "basis", "gennemsnitlig": "gennemsnitlig", "moderat_avanceret": "moderat avanceret",
         "avanceret": "avanceret"}
QUADRANTS = {"concentrate_here": "Sæt ind her", "keep_up": "Hold niveauet", "low_priority": "Lav prioritet",
             "possible_overkill": "Mulig overinvestering"}


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: float, decimals: int = 1, signed: bool = False) -> str:
    """48.85 → "48,9"; 1234567 → "1.234.567"; negative with a true minus sign; `signed` adds "+"."""
    text = f"{abs(value):,.{decimals}f}".replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    if text.strip("0,.") == "":  # rounds to zero: no sign
        return text
    if value < 0:
        return MINUS + text
    return "+" + text if signed else text


def percent(share: float, decimals: int = 0) -> str:
    """0.8866 → "89 %" (non-breaking space before the sign)."""
    return f"{number(share * 100, decimals)}{NBSP}%"


def long_date(value: dt.date) -> str:
    return f"{value.day}. {MONTHS[value.month - 1]} {value.year}"


def short_date(value: dt.date) -> str:
    return f"{value.day:02d}.{value.month:02d}.{value.year}"


def count_word(n: int) -> str:
    """Small counts in words (running text stays free of untagged digits)."""
    return COUNT_WORDS[n] if 0 <= n < len(COUNT_WORDS) else number(n, 0)


def band(value: str | None) -> str:
    return BANDS.get(value or "", value or "ikke oplyst")


def key(*parts: object) -> str:
    return "|".join(p.isoformat() if isinstance(p, dt.date) else str(p) for p in parts)


def _attrs(metric: str, key_: str, extra: dict[str, str] | None) -> str:
    items = {"data-metric": metric, "data-key": key_, **(extra or {})}
    return " ".join(f'{k}="{escape(v)}"' for k, v in items.items())


def figure(value: float | None, metric: str, key_: str, decimals: int | None = None, *, signed: bool = False,
           pct: bool = False, scale: float | None = None, calc: str | None = None, missing_text: str = "–",
           cls: str = "") -> str:
    """A tagged number (1 decimal, percentages none, unless `decimals`); a null becomes `missing()`."""
    if value is None or is_missing(value):
        return missing(metric, key_, missing_text, calc=calc, cls=cls)
    extra: dict[str, str] = {}
    if scale is not None:
        extra["data-scale"] = repr(scale)
    if calc:
        extra["data-calc"] = calc
    if cls:
        extra["class"] = cls
    if pct:
        shown = percent(value, 0 if decimals is None else decimals)
    else:
        shown = number(value * (scale or 1), 1 if decimals is None else decimals, signed)
    return f"<span {_attrs(metric, key_, extra)}>{escape(shown)}</span>"


def missing(metric: str, key_: str, text: str = "–", *, calc: str | None = None, cls: str = "") -> str:
    extra = {"data-null": "true", "class": ("missing " + cls).strip()}
    if calc:
        extra["data-calc"] = calc
    return f"<span {_attrs(metric, key_, extra)}>{escape(text)}</span>"


def text_value(value: str | None, metric: str, key_: str, shown: str | None = None) -> str:
    """A tagged text value (band, quadrant, label, run id)."""
    if value is None:
        return missing(metric, key_, "ikke oplyst")
    extra = {"data-type": "text", "data-value": value}
    return f"<span {_attrs(metric, key_, extra)}>{escape(shown if shown is not None else value)}</span>"


def timestamp(value: str) -> str:
    """An ISO timestamp "2026-11-27T07:39:27.85+00:00" as "27.11.2026 kl. 07.39 UTC"."""
    try:
        ts = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if ts.tzinfo is not None:
        ts = ts.astimezone(dt.UTC)
    return f"{short_date(ts.date())} kl. {ts:%H.%M}" + (" UTC" if ts.tzinfo is not None else "")


def date_value(value: dt.date | None, metric: str, key_: str, long: bool = True) -> str:
    if value is None:
        return missing(metric, key_, "ikke oplyst")
    shown = long_date(value) if long else short_date(value)
    extra = {"data-type": "date", "data-value": value.isoformat()}
    return f"<time datetime=\"{value.isoformat()}\" {_attrs(metric, key_, extra)}>{escape(shown)}</time>"
