"""The parameter types of SMPP 3.4 (§3.1): Integer, C-Octet String and Octet String, read from a
PDU body and written to one, and the error a PDU that does not decode raises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from simrelay.smpp.codes import CommandStatus


class PduError(ValueError):
    """A PDU that does not decode. `status` is the command_status to answer with; `command_id`
    and `sequence` come from its header when that was read (None before), so the session can
    answer the request it could not read."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        command_id: int | None = None,
        sequence: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.command_id = command_id
        self.sequence = sequence


class FramingError(PduError):
    """A command_length that cuts the stream nowhere sane: no later PDU can be found, so the
    session answers generic_nack (ESME_RINVCMDLEN) and closes the connection."""


class Reader:
    """A cursor over a PDU body; running out raises PduError (ESME_RINVCMDLEN)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._at

    def take(self, count: int) -> bytes:
        if count > self.remaining:
            raise PduError(
                f"the body ends {count - self.remaining} octets short of its fields",
                status=CommandStatus.ESME_RINVCMDLEN,
            )
        chunk = self._data[self._at : self._at + count]
        self._at += count
        return chunk

    def integer(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def cstring(self, name: str, size: int, *, status: int) -> str:
        """A C-Octet String of at most `size` octets, its NUL included (§3.1's "Var. max").
        Octets are read as Latin-1 so any of them survives; the spec asks for ASCII."""
        end = self._data.find(b"\x00", self._at, self._at + size)
        if end < 0:
            if self.remaining < size:
                raise PduError(
                    f"{name} has no NUL before the body ends", status=CommandStatus.ESME_RINVCMDLEN
                )
            raise PduError(f"{name} is longer than its {size - 1} characters", status=status)
        value = self._data[self._at : end].decode("latin-1")
        self._at = end + 1
        return value

    def rest(self) -> bytes:
        chunk = self._data[self._at :]
        self._at = len(self._data)
        return chunk


def write_integer(name: str, value: int, size: int) -> bytes:
    try:
        return value.to_bytes(size, "big")
    except OverflowError:
        raise ValueError(f"{name} {value} does not fit {size} octets unsigned") from None


def write_cstring(name: str, value: str, size: int) -> bytes:
    """ValueError for a value longer than `size - 1` octets, or with a NUL or a character
    outside Latin-1."""
    try:
        octets = value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"{name} {value!r} has a character outside Latin-1") from None
    if b"\x00" in octets:
        raise ValueError(f"{name} {value!r} holds a NUL")
    if len(octets) >= size:
        raise ValueError(f"{name} {value!r} is longer than its {size - 1} characters")
    return octets + b"\x00"


class Field(Protocol):
    """One mandatory body parameter of a PDU: its dataclass attribute and its wire form."""

    @property
    def name(self) -> str: ...

    def read(self, reader: Reader) -> Any: ...

    def write(self, value: Any) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Integer:
    name: str
    size: int = 1

    def read(self, reader: Reader) -> int:
        return reader.integer(self.size)

    def write(self, value: int) -> bytes:
        return write_integer(self.name, value, self.size)


@dataclass(frozen=True, slots=True)
class CString:
    name: str
    size: int  # octets, the NUL included
    status: int = CommandStatus.ESME_RINVCMDLEN  # the answer to a value longer than `size - 1`

    def read(self, reader: Reader) -> str:
        return reader.cstring(self.name, self.size, status=self.status)

    def write(self, value: str) -> bytes:
        return write_cstring(self.name, value, self.size)


SHORT_MESSAGE_MAX = 254
"""Octets short_message holds (§5.2.22); longer messages go in the message_payload TLV."""


@dataclass(frozen=True, slots=True)
class ShortMessage:
    """sm_length (Integer, 1) and short_message (Octet String of sm_length octets), one field."""

    name: str = "short_message"

    def read(self, reader: Reader) -> bytes:
        length = reader.integer(1)
        if length > SHORT_MESSAGE_MAX:
            raise PduError(
                f"sm_length {length} is over {SHORT_MESSAGE_MAX}", status=CommandStatus.ESME_RINVMSGLEN
            )
        return reader.take(length)

    def write(self, value: bytes) -> bytes:
        if len(value) > SHORT_MESSAGE_MAX:
            raise ValueError(
                f"short_message holds {SHORT_MESSAGE_MAX} octets, not {len(value)}: use message_payload"
            )
        return bytes([len(value)]) + value
