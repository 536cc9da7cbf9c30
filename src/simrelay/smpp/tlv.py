"""Optional parameters (TLVs, SMPP 3.4 §3.2.4 and §5.3): the ones the server and routes read,
by name and type, and every other one kept as raw octets and passed on unchanged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simrelay.smpp.codes import CommandStatus, Tag
from simrelay.smpp.fields import PduError, Reader, write_cstring, write_integer


@dataclass(frozen=True, slots=True)
class Tlv:
    """A TLV the codec has no name for: its tag and value octets."""

    tag: int
    value: bytes


@dataclass(frozen=True, slots=True)
class NetworkErrorCode:
    """network_error_code (§5.3.2.31): the network type (3 is GSM, 7 an SMPP error, 8 specific
    to the message centre) and that network's error code."""

    network_type: int
    error_code: int


RECEIPTED_MESSAGE_ID_SIZE = 65
"""Octets of receipted_message_id, its NUL included (§5.3.2.12)."""

# Integer TLVs by tag: attribute and octets (§5.3.2). Their order here is the order they are
# written in, after the PDU's mandatory fields.
_INTEGERS: dict[int, tuple[str, int]] = {
    Tag.USER_MESSAGE_REFERENCE: ("user_message_reference", 2),
    Tag.SOURCE_PORT: ("source_port", 2),
    Tag.DESTINATION_PORT: ("destination_port", 2),
    Tag.SAR_MSG_REF_NUM: ("sar_msg_ref_num", 2),
    Tag.SAR_TOTAL_SEGMENTS: ("sar_total_segments", 1),
    Tag.SAR_SEGMENT_SEQNUM: ("sar_segment_seqnum", 1),
    Tag.SC_INTERFACE_VERSION: ("sc_interface_version", 1),
}
_NAMED = frozenset(
    [*_INTEGERS, Tag.MESSAGE_PAYLOAD, Tag.NETWORK_ERROR_CODE, Tag.MESSAGE_STATE, Tag.RECEIPTED_MESSAGE_ID]
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """The TLVs of one PDU; None for one not given. Any TLV is accepted on any PDU: refusing
    one the spec does not list there (ESME_ROPTPARNOTALLWD) would only break peers that add it."""

    user_message_reference: int | None = None
    source_port: int | None = None
    destination_port: int | None = None
    sar_msg_ref_num: int | None = None  # SAR (§5.3.2.22-24): a long message split over PDUs
    sar_total_segments: int | None = None
    sar_segment_seqnum: int | None = None
    sc_interface_version: int | None = None  # bind responses
    message_payload: bytes | None = None  # instead of short_message, up to 64 KiB
    network_error_code: NetworkErrorCode | None = None
    message_state: int | None = None  # a MessageState value; others are kept as they came
    receipted_message_id: str | None = None
    other: tuple[Tlv, ...] = ()  # unnamed TLVs, in the order received


NO_OPTIONS = Options()


def _tlv(tag: int, value: bytes) -> bytes:
    if len(value) > 0xFFFF:
        raise ValueError(f"TLV {tag:#06x} holds {len(value)} octets, more than 65535")
    return tag.to_bytes(2, "big") + len(value).to_bytes(2, "big") + value


def encode_options(options: Options) -> bytes:
    """The TLVs, named ones first in a fixed order, then `other` as given; ValueError for a
    value out of its range or an `other` TLV whose tag has a name here."""
    out = bytearray()
    for tag, (name, size) in _INTEGERS.items():
        value = getattr(options, name)
        if value is not None:
            out += _tlv(tag, write_integer(name, value, size))
    if options.message_payload is not None:
        out += _tlv(Tag.MESSAGE_PAYLOAD, options.message_payload)
    if options.network_error_code is not None:
        error = options.network_error_code
        value = write_integer("network_type", error.network_type, 1)
        out += _tlv(Tag.NETWORK_ERROR_CODE, value + write_integer("error_code", error.error_code, 2))
    if options.message_state is not None:
        out += _tlv(Tag.MESSAGE_STATE, write_integer("message_state", options.message_state, 1))
    if options.receipted_message_id is not None:
        value = write_cstring("receipted_message_id", options.receipted_message_id, RECEIPTED_MESSAGE_ID_SIZE)
        out += _tlv(Tag.RECEIPTED_MESSAGE_ID, value)
    for tlv in options.other:
        if tlv.tag in _NAMED:
            raise ValueError(f"TLV {tlv.tag:#06x} has a name in Options: set it there")
        write_integer("tag", tlv.tag, 2)
        out += _tlv(tlv.tag, tlv.value)
    return bytes(out)


def _fixed(tag: int, value: bytes, size: int) -> bytes:
    if len(value) != size:
        raise PduError(
            f"TLV {tag:#06x} holds {len(value)} octets, not {size}", status=CommandStatus.ESME_RINVPARLEN
        )
    return value


def _receipted_message_id(value: bytes) -> str:
    # A C-Octet String: read up to the first NUL or the end, so a value sent without its NUL
    # still reads.
    if len(value) > RECEIPTED_MESSAGE_ID_SIZE:
        raise PduError(
            f"receipted_message_id holds {len(value)} octets, more than {RECEIPTED_MESSAGE_ID_SIZE}",
            status=CommandStatus.ESME_RINVPARLEN,
        )
    return value.split(b"\x00", 1)[0].decode("latin-1")


def decode_options(data: bytes) -> Options:
    """The TLVs after a PDU's mandatory fields. PduError: ESME_RINVOPTPARSTREAM for a TLV cut
    short or a named one given twice, ESME_RINVPARLEN for a named one of the wrong length."""
    reader = Reader(data)
    values: dict[str, Any] = {}
    other: list[Tlv] = []
    seen: set[int] = set()
    while reader.remaining:
        if reader.remaining < 4:
            raise PduError(
                f"{reader.remaining} octets after the last TLV", status=CommandStatus.ESME_RINVOPTPARSTREAM
            )
        tag = reader.integer(2)
        length = reader.integer(2)
        if length > reader.remaining:
            raise PduError(
                f"TLV {tag:#06x} claims {length} octets, {reader.remaining} remain",
                status=CommandStatus.ESME_RINVOPTPARSTREAM,
            )
        value = reader.take(length)
        if tag in seen and tag in _NAMED:
            raise PduError(f"TLV {tag:#06x} is given twice", status=CommandStatus.ESME_RINVOPTPARSTREAM)
        seen.add(tag)
        if tag in _INTEGERS:
            name, size = _INTEGERS[tag]
            values[name] = int.from_bytes(_fixed(tag, value, size), "big")
        elif tag == Tag.MESSAGE_PAYLOAD:
            values["message_payload"] = value
        elif tag == Tag.NETWORK_ERROR_CODE:
            # Empty ones are met in the wild (Pythomnic3k's smpp34 notes it in its parameter
            # table): read as not given rather than refusing the PDU.
            if value:
                value = _fixed(tag, value, 3)
                values["network_error_code"] = NetworkErrorCode(value[0], int.from_bytes(value[1:], "big"))
        elif tag == Tag.MESSAGE_STATE:
            values["message_state"] = _fixed(tag, value, 1)[0]
        elif tag == Tag.RECEIPTED_MESSAGE_ID:
            values["receipted_message_id"] = _receipted_message_id(value)
        else:
            other.append(Tlv(tag, value))
    if not values and not other:
        return NO_OPTIONS
    return Options(**values, other=tuple(other))
