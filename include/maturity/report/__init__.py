"""The direktion report (SPEC §4): a Danish HTML + PDF report per wave from the published marts.

    from maturity.report import render_reports
    paths = render_reports(published_db, out_dir, wave_id=None, quality=None, pdf=True)

The heavy imports (matplotlib) happen on the first call, so importing this package is cheap (DAG parsing).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["render_reports"]


def render_reports(published_db: Path, out_dir: Path, wave_id: str | Sequence[str] | None = None,
                   quality: dict[str, Any] | None = None, pdf: bool = True) -> list[Path]:
    """Write out_dir/direktion_<wave_id>.html (+ .pdf) for one wave, several or every wave; see
    render.render_reports. Several waves in one call share one Chromium and render in parallel."""
    from maturity.report.render import render_reports as render

    return render(published_db, out_dir, wave_id=wave_id, quality=quality, pdf=pdf)
