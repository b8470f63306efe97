"""Writing a gate's outcome: the full validation results as JSON and a self-contained HTML page.

Both pass through :func:`maturity.gates.cpr.redact` — a report never repeats a CPR number it found.
The HTML has inline CSS only (no scripts, fonts or links), so it opens anywhere, offline.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maturity.gates.cpr import redact

if TYPE_CHECKING:
    from maturity.gates.runner import GateResult

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1d2733;max-width:80rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
.badge{display:inline-block;padding:.15rem .6rem;border-radius:.8rem;font-weight:600;color:#fff}
.passed{background:#2e7d32}.blocked{background:#c62828}
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #d5dbe1;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eef2f6}tr.error>td:first-child{color:#c62828;font-weight:600}
tr.warning>td:first-child{color:#a15c00;font-weight:600}tr.ok>td:first-child{color:#2e7d32}
tr.skipped>td:first-child{color:#6b7785}
table.fixed{table-layout:fixed}table.fixed td{overflow-wrap:anywhere}.ex td{overflow-wrap:normal}
.ex{display:block;overflow-x:auto;max-width:100%;font-size:.8rem;width:auto}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.8rem}
pre{white-space:pre-wrap;margin:0}details{margin:.4rem 0}summary{cursor:pointer}
.muted{color:#6b7785}
"""


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json(result: GateResult, path: Path, details: dict[str, Any]) -> None:
    payload = redact({**result.to_dict(), **details})
    _write_atomic(path, json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")


def _e(value: Any) -> str:
    return html.escape(str(redact(value)) if value is not None else "")


def _examples_html(examples: list[dict[str, Any]]) -> str:
    if not examples:
        return ""
    cols = list(dict.fromkeys(k for ex in examples for k in ex))
    head = "".join(f"<th>{_e(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{_e(ex.get(c))}</td>" for c in cols) + "</tr>" for ex in examples)
    return f"<table class='ex'><tr>{head}</tr>{body}</table>"


def write_html(result: GateResult, path: Path, suite_results: list[dict[str, Any]]) -> None:
    status = "passed" if result.passed else "blocked"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(result.title)} — {status}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(result.title)} <span class='badge {status}'>{status.upper()}</span></h1>",
        f"<p class='muted'>{_e(result.source)} · {len(result.suites)} suites · {result.evaluated} expectations "
        f"evaluated · {len(result.errors)} error(s), {len(result.warnings)} warning(s), {len(result.skipped)} "
        f"skipped · {result.seconds:.1f} s · {_e(result.finished_at)}</p>",
        "<h2>Summary</h2>", f"<pre>{_e(result.summary())}</pre>",
    ]
    if result.failures:
        parts.append("<h2>Failures</h2><table class='fixed'><colgroup><col style='width:5rem'><col style='width:14%'>"
                     "<col style='width:18%'><col style='width:12%'><col style='width:6rem'><col></colgroup>"
                     "<tr><th>severity</th><th>suite</th><th>expectation</th><th>column</th><th>unexpected</th>"
                     "<th>detail and examples</th></tr>")
        for f in sorted(result.failures, key=lambda f: (f.severity != "error", f.suite)):
            count = "" if f.unexpected_count is None else f"{f.unexpected_count} of {f.element_count}"
            parts.append(
                f"<tr class='{f.severity}'><td>{f.severity}</td><td>{_e(f.suite)}</td><td><code>{_e(f.expectation)}"
                f"</code></td><td>{_e(f.column)}</td><td>{_e(count)}</td><td>{_e(f.detail)}"
                f"{'<br><span class=muted>' + _e(f.notes) + '</span>' if f.notes else ''}"
                f"{_examples_html(f.examples)}</td></tr>")
        parts.append("</table>")
    parts.append("<h2>Suites</h2><table><tr><th>status</th><th>suite</th><th>table</th><th>rows</th>"
                 "<th>expectations</th><th>errors</th><th>warnings</th><th>skipped</th></tr>")
    for s in result.suites:
        cls = "error" if s.errors else "warning" if s.warnings else "ok"
        label = "blocked" if s.errors else "warned" if s.warnings else "passed"
        parts.append(f"<tr class='{cls}'><td>{label}</td><td>{_e(s.name)}</td><td>{_e(s.table)}</td>"
                     f"<td>{_e(s.rows)}</td><td>{s.evaluated}</td><td>{s.errors}</td><td>{s.warnings}</td>"
                     f"<td>{s.skipped}</td></tr>")
    parts.append("</table><h2>Every expectation</h2>")
    for s in suite_results:
        parts.append(f"<details><summary><code>{_e(s['name'])}</code> — {_e(s['table'])}</summary><table>"
                     "<tr><th>status</th><th>severity</th><th>expectation</th><th>arguments</th><th>result</th></tr>")
        for row in s["expectations"]:
            parts.append(f"<tr class='{row['status_class']}'><td>{_e(row['status'])}</td><td>{_e(row['severity'])}"
                         f"</td><td><code>{_e(row['type'])}</code><br><span class='muted'>{_e(row['notes'])}</span>"
                         f"</td><td><code>{_e(row['kwargs'])}</code></td><td>{_e(row['result'])}</td></tr>")
        parts.append("</table></details>")
    parts.append("</body></html>\n")
    _write_atomic(path, "".join(parts))
