"""The command line's promises: clear sentences instead of stack traces, and a key file it creates once."""

from __future__ import annotations

from pathlib import Path

import pytest
from maturity.cli import main


def test_run_without_key_is_one_clear_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delenv("MATURITY_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("MATURITY_PSEUDONYM_KEY_FILE", raising=False)
    (tmp_path / "landing").mkdir()
    code = main(["run", "--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "wh")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("maturity run: No pseudonym key: set MATURITY_PSEUDONYM_KEY")
    assert "Traceback" not in err
    assert not (tmp_path / "wh").exists()


def test_run_with_missing_landing_names_it(tmp_path: Path, capsys) -> None:
    code = main(["run", "--landing", str(tmp_path / "nowhere"), "--warehouse", str(tmp_path / "wh")])
    assert code == 2
    assert f"The landing area {tmp_path / 'nowhere'} does not exist" in capsys.readouterr().err


def test_keygen_creates_once_and_keeps_the_key(tmp_path: Path, capsys) -> None:
    key = tmp_path / ".secrets" / "pseudonym.key"
    assert main(["keygen", "--file", str(key)]) == 0
    first = key.read_text()
    assert "Created a new local pseudonym key" in capsys.readouterr().out
    assert len(bytes.fromhex(first.strip())) == 32
    assert key.stat().st_mode & 0o777 == 0o600
    assert main(["keygen", "--file", str(key)]) == 0
    assert key.read_text() == first
    assert "Using the existing pseudonym key" in capsys.readouterr().out


def test_key_file_with_bad_content_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    bad = tmp_path / "key"
    bad.write_text("not hex")
    monkeypatch.delenv("MATURITY_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("MATURITY_PSEUDONYM_KEY_FILE", str(bad))
    (tmp_path / "landing").mkdir()
    assert main(["run", "--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "wh")]) == 2
    assert "is not a hexadecimal string" in capsys.readouterr().err
