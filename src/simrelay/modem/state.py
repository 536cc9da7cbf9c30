"""The modem host's state file: what must outlive a restart of `simrelay modem`, per modem.

Keyed by IMEI, the one name of a modem that survives a USB reset or a move to another port
(/dev/ttyUSB0 today may be /dev/ttyUSB3 after a re-enumeration). Each modem keeps its device
id and token (so it resumes the same device without a new pairing code), and what the device
protocol's rules require a device to keep: the SMS it holds, the reports the server has not
acknowledged, and which message reference of the network stands for which part of which SMS
(status reports arrive minutes or days later, possibly after a restart).

The file is rewritten whole and atomically (a temporary file, fsync, rename, fsync of the
folder): a crash leaves the old version or the new one, never a torn file. It is small, and
a modem changes it a few times per SMS, so rewriting it whole costs nothing worth a database.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

VERSION = 1


@dataclass
class Part:
    """One part of a sent SMS, as the network knows it."""

    message_id: str
    part: int
    parts: int
    at: float


@dataclass
class ModemState:
    imei: str
    device_id: str
    token: str
    held: dict[str, dict[str, Any]] = field(default_factory=dict)
    """SMS id -> {"offer": the offer frame, "started": bool}: `started` is written before the
    first AT+CMGS of the SMS, so a restart knows it may have gone out and must never drop it."""
    outbox: list[dict[str, Any]] = field(default_factory=list)
    """Reports not yet acknowledged, oldest first, sent again after every reconnect."""
    references: dict[str, Part] = field(default_factory=dict)
    """str(TP-MR) -> the part it was given to; the network reuses the 256 references in turn."""
    next_reference: int = 0
    """The concatenation reference (0-255) the next long SMS gets, so parts of two SMS never mix."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModemState:
        references = {mr: Part(**part) for mr, part in data.get("references", {}).items()}
        return cls(
            imei=str(data["imei"]),
            device_id=str(data["device_id"]),
            token=str(data["token"]),
            held=dict(data.get("held", {})),
            outbox=list(data.get("outbox", [])),
            references=references,
            next_reference=int(data.get("next_reference", 0)) % 256,
        )


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.modems: dict[str, ModemState] = {}

    @classmethod
    def load(cls, path: Path) -> StateFile:
        """The file's modems; an absent file is an empty state (a first start)."""
        state = cls(path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return state
        if document.get("version") != VERSION:
            raise ValueError(f"{path}: state file version {document.get('version')!r}, expected {VERSION}")
        for data in document.get("modems", []):
            modem = ModemState.from_json(data)
            state.modems[modem.imei] = modem
        return state

    def get(self, imei: str) -> ModemState | None:
        return self.modems.get(imei)

    def put(self, modem: ModemState) -> None:
        self.modems[modem.imei] = modem
        self.save()

    def save(self) -> None:
        document = {"version": VERSION, "modems": [asdict(modem) for modem in self.modems.values()]}
        data = json.dumps(document, ensure_ascii=False, indent=1).encode()
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=folder)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            # The token is a credential: readable by the host's user only.
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
