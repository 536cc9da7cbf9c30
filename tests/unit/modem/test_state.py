"""The modem host's state file: keyed by IMEI, survives a reload, rewritten atomically, private."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from simrelay.modem.state import ModemState, Part, StateFile


def modem(imei: str = "356938035643809") -> ModemState:
    return ModemState(imei=imei, device_id="65f0c1e2a1b2c3d4e5f60718", token="sdt_secret")


def test_an_absent_file_is_a_first_start(tmp_path: Path) -> None:
    assert StateFile.load(tmp_path / "modems.json").modems == {}


def test_what_was_put_comes_back_after_a_reload(tmp_path: Path) -> None:
    path = tmp_path / "state" / "modems.json"
    state = StateFile.load(path)
    one = modem()
    one.held["65f0c1e2a1b2c3d4e5f60720"] = {"offer": {"id": "65f0c1e2a1b2c3d4e5f60720"}, "started": True}
    one.outbox.append({"type": "sent", "id": "65f0c1e2a1b2c3d4e5f60720", "parts": 2})
    one.references["17"] = Part("65f0c1e2a1b2c3d4e5f60720", 1, 2, 1764230400.5)
    state.put(one)
    state.put(modem("861234567890123"))

    again = StateFile.load(path)
    assert set(again.modems) == {"356938035643809", "861234567890123"}
    assert again.get("356938035643809") == one
    assert again.get("000000000000000") is None


def test_the_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "modems.json"
    StateFile.load(path).put(modem())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "modems.json"
    state = StateFile.load(path)
    state.put(modem())
    before = path.read_bytes()

    def broken(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError, match="disk full"):
        state.put(modem("861234567890123"))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["modems.json"]


def test_a_file_of_another_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "modems.json"
    path.write_text(json.dumps({"version": 99, "modems": []}))
    with pytest.raises(ValueError, match="version 99"):
        StateFile.load(path)
