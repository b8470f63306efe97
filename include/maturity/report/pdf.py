"""HTML → PDF with headless Chromium's print (the same HTML, A4 pages from the @page CSS)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from maturity.errors import MaturityError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 180


def find_chromium() -> str:
    """The Chromium binary: $MATURITY_CHROMIUM if set, else the first candidate on PATH."""
    configured = os.environ.get("MATURITY_CHROMIUM")
    if configured:
        found = shutil.which(configured)
        if not found:
            raise MaturityError(f"MATURITY_CHROMIUM={configured} is not an executable; install Chromium "
                                "(apt-get install chromium) or fix the variable, or render with pdf=False.")
        return found
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise MaturityError("Chromium is not installed, so the direktion report cannot be printed to PDF; install it "
                        "(apt-get install chromium), set MATURITY_CHROMIUM, or render with pdf=False.")


def chromium_flags(user_data_dir: Path) -> list[str]:
    """Flags for a headless Chromium that makes no network requests of its own."""
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
            "--disable-extensions", "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={user_data_dir}"]


def print_pdf(html_file: Path, pdf_file: Path) -> Path:
    """Print `html_file` to `pdf_file` (written atomically); raise MaturityError with Chromium's reason."""
    chromium = find_chromium()
    pdf_file.parent.mkdir(parents=True, exist_ok=True)
    tmp_pdf = pdf_file.with_name(f".{pdf_file.name}.tmp")
    tmp_pdf.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="maturity-chromium-") as profile:
        cmd = [chromium, *chromium_flags(Path(profile)), f"--print-to-pdf={tmp_pdf}", "--no-pdf-header-footer",
               html_file.resolve().as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired as exc:
            raise MaturityError(f"Chromium did not print {html_file.name} within {TIMEOUT_S} s.") from exc
    if proc.returncode != 0 or not tmp_pdf.is_file() or tmp_pdf.stat().st_size == 0:
        tmp_pdf.unlink(missing_ok=True)
        tail = (proc.stderr or "").strip().splitlines()[-3:]
        raise MaturityError(f"Chromium could not print {html_file.name} to PDF (exit {proc.returncode}): "
                            + " / ".join(tail))
    os.replace(tmp_pdf, pdf_file)
    return pdf_file
