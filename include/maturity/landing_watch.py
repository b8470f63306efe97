"""Notice new landing drops without a manual trigger: an Airflow 3 event trigger for an AssetWatcher.

The triggerer runs `LandingDropTrigger` for the landing Asset that `maturity_ingest` is scheduled on.
It polls a cheap listing of the landing area (path, size and mtime of every file — no file is read)
and fires one event per new state of the area. A drop still being copied changes between two polls,
so an event is only fired once the listing has been stable for one poll interval. The last state it
fired for is kept in `<warehouse>/landing.watch.json`, so a restarted triggerer does not fire again
for a drop the pipeline has already seen.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

STATE_FILE = "landing.watch.json"
# Files a copy in progress or an editor leaves behind; never part of a drop.
IGNORED_PREFIXES = (".", "~$")
IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload", ".swp")


def landing_listing(landing_dir: Path) -> tuple[str | None, int]:
    """(fingerprint, file count) of the landing area's listing; (None, 0) when it does not exist or is empty."""
    if not landing_dir.is_dir():
        return None, 0
    h = hashlib.sha256()
    count = 0
    for root, dirs, files in os.walk(landing_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith(IGNORED_PREFIXES))
        for name in sorted(files):
            if name.startswith(IGNORED_PREFIXES) or name.endswith(IGNORED_SUFFIXES):
                continue
            path = Path(root, name)
            try:
                st = path.stat()
            except FileNotFoundError:  # removed while listing: the next poll sees the final state
                continue
            h.update(f"{path.relative_to(landing_dir).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            count += 1
    return (h.hexdigest(), count) if count else (None, 0)


def read_state(state_file: Path) -> str | None:
    try:
        return json.loads(state_file.read_text()).get("fingerprint")
    except (FileNotFoundError, ValueError):
        return None


def write_state(state_file: Path, fingerprint: str, files: int) -> None:
    state_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps({"fingerprint": fingerprint, "files": files}))
    os.replace(tmp, state_file)


class LandingDropTrigger(BaseEventTrigger):
    """Fire when the landing area holds a new, settled drop (see the module docstring)."""

    def __init__(self, landing_dir: str, state_file: str, poke_interval: float = 30.0) -> None:
        super().__init__()
        self.landing_dir = landing_dir
        self.state_file = state_file
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("maturity.landing_watch.LandingDropTrigger",
                {"landing_dir": self.landing_dir, "state_file": self.state_file, "poke_interval": self.poke_interval})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        landing, state = Path(self.landing_dir), Path(self.state_file)
        last = read_state(state)
        pending: str | None = None
        while True:
            fingerprint, files = await asyncio.to_thread(landing_listing, landing)
            if fingerprint is None or fingerprint == last:
                pending = None
            elif fingerprint == pending:  # unchanged for one interval: the copy is complete
                write_state(state, fingerprint, files)
                last, pending = fingerprint, None
                self.log.info("New landing drop in %s (%d files): triggering the pipeline", landing, files)
                yield TriggerEvent({"landing_fingerprint": fingerprint, "files": files})
            else:
                pending = fingerprint
            await asyncio.sleep(self.poke_interval)
