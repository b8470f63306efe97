"""HTML → PDF with headless Chromium's print (the same HTML, A4 pages from the @page CSS).

One Chromium serves every report of a run: :class:`Printer` starts it once and drives it over the
DevTools protocol on a pipe (``--remote-debugging-pipe``: no TCP port is opened). Each file is printed
exactly as ``chromium --headless --print-to-pdf --no-pdf-header-footer FILE`` would: a fresh tab loads
the file, and once its ``load`` lifecycle event has fired the page is printed with the parameters that
command uses (background graphics, the CSS page size, no header or footer, a tagged PDF). Starting
Chromium costs more than printing a report, so one process instead of one per file saves most of the
time, and printing runs in a background thread while the next report is rendered.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from maturity.errors import MaturityError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 180

# What `--print-to-pdf --no-pdf-header-footer` asks DevTools for (Chromium's headless command handler).
PRINT_PARAMS = {"displayHeaderFooter": False, "generateTaggedPDF": True, "printBackground": True,
                "preferCSSPageSize": True}


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


class _Failed(Exception):
    """Chromium did not do what was asked; the message says why (turned into a MaturityError per file)."""


class Printer:
    """One headless Chromium that prints HTML files to PDF, one after the other, in a background thread.

        with Printer() as printer:
            done = printer.submit(html_file, pdf_file)   # returns at once
            ...                                          # render the next report meanwhile
            done.result()                                # the PDF path, or MaturityError

    Chromium is started at once (it boots while the caller works) and stopped by :meth:`close`. A file
    that cannot be printed fails its own future with Chromium's reason; the files after it still print.
    """

    def __init__(self, chromium: str | None = None) -> None:
        self._chromium = chromium or find_chromium()
        self._profile = tempfile.TemporaryDirectory(prefix="maturity-chromium-")
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (Chromium's log for error messages, closed in close())
        cmd_r, self._cmd_w = os.pipe()
        self._res_r, res_w = os.pipe()
        # The pipe must be fds 3 (commands in) and 4 (replies out) in Chromium; the shell moves them there,
        # so no Python code runs between fork and exec (preexec_fn is unsafe with threads).
        script = 'exec "$0" "$@" 3<&0 4>&1 </dev/null >/dev/null'
        try:
            self._proc = subprocess.Popen(
                ["/bin/sh", "-c", script, self._chromium, *chromium_flags(Path(self._profile.name)),
                 "--remote-debugging-pipe", "about:blank"],
                stdin=cmd_r, stdout=res_w, stderr=self._stderr)  # our process group: killed with us
        except OSError as exc:
            for fd in (self._cmd_w, self._res_r):
                os.close(fd)
            self._stderr.close()
            self._profile.cleanup()
            raise MaturityError(f"Chromium ({self._chromium}) could not be started: {exc}") from None
        finally:
            os.close(cmd_r)  # the child has its own copies
            os.close(res_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        self._dead: str | None = None  # why the browser can no longer be used
        self._poll = select.poll()  # not select(): a busy worker process may have fds above 1024
        self._poll.register(self._res_r, select.POLLIN)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="maturity-pdf")
        self._closed = False

    # ------------------------------------------------------------------ the pipe (worker thread only)

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            if not self._poll.poll(left * 1000):
                continue
            chunk = os.read(self._res_r, 1 << 20)
            if not chunk:
                raise _Failed(self._exit_reason())
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def _send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
              deadline: float | None = None) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = memoryview(json.dumps(message).encode() + b"\0")
        try:
            while data:
                data = data[os.write(self._cmd_w, data):]
        except OSError:  # BrokenPipeError: Chromium is gone
            raise _Failed(self._exit_reason()) from None
        deadline = deadline or time.monotonic() + TIMEOUT_S
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise _Failed(f"{method}: {reply['error'].get('message', reply['error'])}")
                return reply.get("result", {})
            if "method" in reply:
                self._events.append(reply)

    def _wait_for_load(self, session: str, navigation: dict[str, Any], deadline: float) -> None:
        """Until the navigated document (its frame and loader) fires `load`; earlier documents' events
        (about:blank's, replayed by setLifecycleEventsEnabled) do not count."""
        def is_load(event: dict[str, Any]) -> bool:
            params = event.get("params", {})
            return (event.get("sessionId") == session and event.get("method") == "Page.lifecycleEvent"
                    and params.get("name") == "load" and params.get("frameId") == navigation["frameId"]
                    and params.get("loaderId") == navigation.get("loaderId", params.get("loaderId")))

        while not any(is_load(e) for e in self._events):
            event = self._receive(deadline)
            if "method" in event:
                self._events.append(event)

    def _exit_reason(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)
        self._stderr.seek(0)
        tail = self._stderr.read().decode("utf-8", "replace").strip().splitlines()[-3:]
        return f"exit {self._proc.returncode}: " + " / ".join(tail)

    def _print(self, html_file: Path, pdf_file: Path) -> Path:
        if self._dead:
            raise MaturityError(f"Chromium could not print {html_file.name} to PDF ({self._dead}).")
        deadline = time.monotonic() + TIMEOUT_S
        pdf_file.parent.mkdir(parents=True, exist_ok=True)
        tmp_pdf = pdf_file.with_name(f".{pdf_file.name}.tmp")
        tmp_pdf.unlink(missing_ok=True)
        target = None
        try:
            target = self._send("Target.createTarget", {"url": "about:blank"}, deadline=deadline)["targetId"]
            session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 deadline=deadline)["sessionId"]
            self._send("Page.enable", session=session, deadline=deadline)
            self._send("Page.setLifecycleEventsEnabled", {"enabled": True}, session, deadline)
            nav = self._send("Page.navigate", {"url": html_file.resolve().as_uri()}, session, deadline)
            if nav.get("errorText"):
                raise _Failed(f"loading the file failed: {nav['errorText']}")
            self._wait_for_load(session, nav, deadline)
            data = base64.b64decode(self._send("Page.printToPDF", PRINT_PARAMS, session, deadline)["data"])
            if not data:
                raise _Failed("Chromium returned an empty PDF")
            tmp_pdf.write_bytes(data)
            os.replace(tmp_pdf, pdf_file)
        except TimeoutError:
            tmp_pdf.unlink(missing_ok=True)
            self._dead = f"it did not print {html_file.name} within {TIMEOUT_S} s"
            raise MaturityError(f"Chromium did not print {html_file.name} within {TIMEOUT_S} s.") from None
        except _Failed as exc:
            tmp_pdf.unlink(missing_ok=True)
            if self._proc.poll() is not None:
                self._dead = str(exc)
            raise MaturityError(f"Chromium could not print {html_file.name} to PDF ({exc}).") from None
        finally:
            self._events.clear()
            if target is not None and not self._dead:
                with contextlib.suppress(_Failed, TimeoutError):
                    self._send("Target.closeTarget", {"targetId": target}, deadline=time.monotonic() + 10)
        return pdf_file

    # ------------------------------------------------------------------ the API

    def submit(self, html_file: Path, pdf_file: Path) -> Future[Path]:
        """Queue `html_file` for printing to `pdf_file` (written atomically); the future holds the path."""
        return self._pool.submit(self._print, Path(html_file), Path(pdf_file))

    def print_pdf(self, html_file: Path, pdf_file: Path) -> Path:
        """Print one file and wait for it."""
        return self.submit(html_file, pdf_file).result()

    def close(self) -> None:
        """Wait for queued prints, then stop Chromium (and anything it started) and remove its profile."""
        if self._closed:
            return
        self._closed = True
        self._pool.shutdown(wait=True)
        if self._proc.poll() is None and not self._dead:
            with contextlib.suppress(_Failed, TimeoutError, OSError, ValueError):
                self._send("Browser.close", deadline=time.monotonic() + 10)
        try:
            self._proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=20)
        for fd in (self._cmd_w, self._res_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._stderr.close()
        self._profile.cleanup()

    def __enter__(self) -> Printer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def print_pdf(html_file: Path, pdf_file: Path) -> Path:
    """Print `html_file` to `pdf_file` (written atomically); raise MaturityError with Chromium's reason."""
    with Printer() as printer:
        return printer.print_pdf(html_file, pdf_file)
