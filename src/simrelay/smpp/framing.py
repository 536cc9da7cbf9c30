"""Cutting the byte stream of an SMPP connection into PDUs: command_length (the first four
octets of every PDU, SMPP 3.4 §3.2) says where each ends."""

from __future__ import annotations

from simrelay.smpp.codes import CommandStatus
from simrelay.smpp.fields import FramingError
from simrelay.smpp.pdu import HEADER_SIZE, Pdu, decode_pdu

MAX_LENGTH = 64 * 1024
"""The longest PDU the framer takes by default: a full message_payload and then some."""


class Framer:
    """Cuts the octets read from a connection into PDUs.

    Feed what the socket gives, then call `next_pdu` until it answers None (no whole PDU yet).
    A PDU that does not decode raises PduError and is dropped, so the next call goes on with
    the following one; a command_length under 16 or over `max_length` raises FramingError,
    and so does every later call, since it stays first in the buffer: nothing after it can be
    trusted to start a PDU.
    """

    def __init__(self, *, max_length: int = MAX_LENGTH) -> None:
        self._buffer = bytearray()
        self._max_length = max_length

    @property
    def buffered(self) -> int:
        """Octets received and not yet cut into a PDU."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def next_pdu(self) -> Pdu | None:
        if len(self._buffer) < 4:
            return None
        length = int.from_bytes(self._buffer[:4], "big")
        if not HEADER_SIZE <= length <= self._max_length:
            raise self._framing_error(length)
        if len(self._buffer) < length:
            return None
        frame = bytes(self._buffer[:length])
        # bytearray drops a prefix without copying what follows (CPython keeps a start offset).
        del self._buffer[:length]
        return decode_pdu(frame)

    def _framing_error(self, length: int) -> FramingError:
        command_id: int | None = None
        sequence: int | None = None
        if len(self._buffer) >= HEADER_SIZE:
            command_id = int.from_bytes(self._buffer[4:8], "big")
            sequence = int.from_bytes(self._buffer[12:16], "big")
        return FramingError(
            f"command_length {length} is outside {HEADER_SIZE}..{self._max_length}",
            status=CommandStatus.ESME_RINVCMDLEN,
            command_id=command_id,
            sequence=sequence,
        )
