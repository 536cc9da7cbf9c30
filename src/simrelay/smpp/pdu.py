"""SMPP 3.4 PDUs (Issue 1.2, §3.2 and §4) as typed dataclasses, decoded from and encoded to
octets. No I/O; `framing` cuts a connection's byte stream into them.

A PDU is a 16-octet header (command_length, command_id, command_status, sequence_number, all
big-endian Integers) and a body: the command's mandatory fields in order, then TLVs (`tlv`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, ClassVar

from simrelay.smpp.codes import INTERFACE_VERSION, RESPONSE_BIT, CommandId, CommandStatus, status_of
from simrelay.smpp.fields import CString, Field, FramingError, Integer, PduError, Reader, ShortMessage
from simrelay.smpp.tlv import NO_OPTIONS, Options, decode_options, encode_options

_HEADER = struct.Struct(">IIII")
HEADER_SIZE = _HEADER.size

_S = CommandStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class Pdu:
    """The header fields every PDU has; command_length is computed, command_id is the class's."""

    command_id: ClassVar[CommandId]
    layout: ClassVar[tuple[Field, ...]] = ()
    bare_on_error: ClassVar[bool] = False  # a response that leaves its body out unless ESME_ROK

    sequence: int = 0
    status: int = CommandStatus.ESME_ROK  # a CommandStatus when the code is known
    options: Options = NO_OPTIONS

    def encode(self) -> bytes:
        """The PDU's octets; ValueError for a field that does not fit its type. A bind_*_resp or
        submit_sm_resp whose status is not ESME_ROK goes without its body (§4.1.2, §4.4.2)."""
        body = b""
        if not (self.bare_on_error and self.status != CommandStatus.ESME_ROK):
            body = b"".join(field.write(getattr(self, field.name)) for field in self.layout)
            body += encode_options(self.options)
        try:
            header = _HEADER.pack(HEADER_SIZE + len(body), self.command_id, self.status, self.sequence)
        except struct.error:
            raise ValueError(
                f"sequence {self.sequence} and status {self.status} are Integers that fit 4 octets"
            ) from None
        return header + body


# --- session management (§4.1, §4.2, §4.3, §4.11) ------------------------------------------------

_BIND_LAYOUT: tuple[Field, ...] = (
    CString("system_id", 16, _S.ESME_RINVSYSID),
    CString("password", 9, _S.ESME_RINVPASWD),
    CString("system_type", 13, _S.ESME_RINVSYSTYP),
    Integer("interface_version"),
    Integer("addr_ton"),
    Integer("addr_npi"),
    CString("address_range", 41, _S.ESME_RBINDFAIL),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Bind(Pdu):
    """The fields of the three binds (§4.1.1, §4.1.3, §4.1.5)."""

    layout = _BIND_LAYOUT
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    interface_version: int = INTERFACE_VERSION
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransmitter(Bind):
    command_id = CommandId.BIND_TRANSMITTER


@dataclass(frozen=True, slots=True, kw_only=True)
class BindReceiver(Bind):
    command_id = CommandId.BIND_RECEIVER


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiver(Bind):
    command_id = CommandId.BIND_TRANSCEIVER


@dataclass(frozen=True, slots=True, kw_only=True)
class BindResp(Pdu):
    """The fields of the three bind responses (§4.1.2, §4.1.4, §4.1.6); sc_interface_version
    is a TLV."""

    layout = (CString("system_id", 16, _S.ESME_RINVSYSID),)
    bare_on_error = True
    system_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransmitterResp(BindResp):
    command_id = CommandId.BIND_TRANSMITTER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class BindReceiverResp(BindResp):
    command_id = CommandId.BIND_RECEIVER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiverResp(BindResp):
    command_id = CommandId.BIND_TRANSCEIVER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class Unbind(Pdu):
    command_id = CommandId.UNBIND


@dataclass(frozen=True, slots=True, kw_only=True)
class UnbindResp(Pdu):
    command_id = CommandId.UNBIND_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLink(Pdu):
    command_id = CommandId.ENQUIRE_LINK


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLinkResp(Pdu):
    command_id = CommandId.ENQUIRE_LINK_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericNack(Pdu):
    """The answer to a PDU whose header cannot be used: bad length, unknown command (§4.3)."""

    command_id = CommandId.GENERIC_NACK


# --- messages (§4.4, §4.6, §4.7, §4.8) -----------------------------------------------------------

_SM_LAYOUT: tuple[Field, ...] = (
    CString("service_type", 6, _S.ESME_RINVSERTYP),
    Integer("source_addr_ton"),
    Integer("source_addr_npi"),
    CString("source_addr", 21, _S.ESME_RINVSRCADR),
    Integer("dest_addr_ton"),
    Integer("dest_addr_npi"),
    CString("destination_addr", 21, _S.ESME_RINVDSTADR),
    Integer("esm_class"),
    Integer("protocol_id"),
    Integer("priority_flag"),
    CString("schedule_delivery_time", 17, _S.ESME_RINVSCHED),
    CString("validity_period", 17, _S.ESME_RINVEXPIRY),
    Integer("registered_delivery"),
    Integer("replace_if_present_flag"),
    Integer("data_coding"),
    Integer("sm_default_msg_id"),
    ShortMessage(),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ShortMessagePdu(Pdu):
    """The fields submit_sm and deliver_sm share (§4.4.1, §4.6.1). In deliver_sm the two times,
    replace_if_present_flag and sm_default_msg_id are unused and left empty (zero)."""

    layout = _SM_LAYOUT
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""  # SMPP time (`times`); "" for now
    validity_period: str = ""  # SMPP time; "" for the SMSC's default
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""  # up to 254 octets; sm_length is its length


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSm(ShortMessagePdu):
    command_id = CommandId.SUBMIT_SM


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSm(ShortMessagePdu):
    command_id = CommandId.DELIVER_SM


_MESSAGE_ID = CString("message_id", 65, _S.ESME_RINVMSGID)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageIdResp(Pdu):
    layout = (_MESSAGE_ID,)
    message_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSmResp(MessageIdResp):
    """§4.4.2: message_id is the SMSC's id of the message, up to 64 characters."""

    command_id = CommandId.SUBMIT_SM_RESP
    bare_on_error = True


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSmResp(MessageIdResp):
    """§4.6.2: message_id is unused and empty."""

    command_id = CommandId.DELIVER_SM_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSmResp(MessageIdResp):
    command_id = CommandId.DATA_SM_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSm(Pdu):
    """§4.7.1: a message with its text in the message_payload TLV; addresses up to 64 characters."""

    command_id = CommandId.DATA_SM
    layout = (
        CString("service_type", 6, _S.ESME_RINVSERTYP),
        Integer("source_addr_ton"),
        Integer("source_addr_npi"),
        CString("source_addr", 65, _S.ESME_RINVSRCADR),
        Integer("dest_addr_ton"),
        Integer("dest_addr_npi"),
        CString("destination_addr", 65, _S.ESME_RINVDSTADR),
        Integer("esm_class"),
        Integer("registered_delivery"),
        Integer("data_coding"),
    )
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    registered_delivery: int = 0
    data_coding: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class QuerySm(Pdu):
    """§4.8.1: the state of a message by its id and source address."""

    command_id = CommandId.QUERY_SM
    layout = (
        _MESSAGE_ID,
        Integer("source_addr_ton"),
        Integer("source_addr_npi"),
        CString("source_addr", 21, _S.ESME_RINVSRCADR),
    )
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class QuerySmResp(Pdu):
    """§4.8.2: final_date is an SMPP time, "" while the message is not final."""

    command_id = CommandId.QUERY_SM_RESP
    layout = (_MESSAGE_ID, CString("final_date", 17), Integer("message_state"), Integer("error_code"))
    message_id: str = ""
    final_date: str = ""
    message_state: int = 0
    error_code: int = 0


_CLASSES: dict[int, type[Pdu]] = {
    cls.command_id: cls
    for cls in (
        BindTransmitter,
        BindTransmitterResp,
        BindReceiver,
        BindReceiverResp,
        BindTransceiver,
        BindTransceiverResp,
        Unbind,
        UnbindResp,
        EnquireLink,
        EnquireLinkResp,
        GenericNack,
        SubmitSm,
        SubmitSmResp,
        DeliverSm,
        DeliverSmResp,
        DataSm,
        DataSmResp,
        QuerySm,
        QuerySmResp,
    )
}


def pdu_class(command_id: int) -> type[Pdu] | None:
    """The class of a command_id, None for one this codec does not model."""
    return _CLASSES.get(command_id)


def decode_pdu(frame: bytes) -> Pdu:
    """A PDU from its octets, header included. PduError, with the header's command_id and
    sequence once they are read: ESME_RINVCMDLEN for a length that does not match or a body
    cut short, ESME_RINVCMDID for a command this codec does not model, the field's own status
    (§5.1.3) for one out of its bounds, and the statuses of `tlv.decode_options` for octets
    after the mandatory fields."""
    if len(frame) < HEADER_SIZE:
        raise PduError(f"a PDU has a 16-octet header, not {len(frame)}", status=_S.ESME_RINVCMDLEN)
    length, command_id, status, sequence = _HEADER.unpack_from(frame)
    if length != len(frame):
        raise PduError(
            f"command_length {length} but {len(frame)} octets",
            status=_S.ESME_RINVCMDLEN,
            command_id=command_id,
            sequence=sequence,
        )
    cls = _CLASSES.get(command_id)
    if cls is None:
        raise PduError(
            f"command_id {command_id:#010x} is not supported",
            status=_S.ESME_RINVCMDID,
            command_id=command_id,
            sequence=sequence,
        )
    try:
        values = _decode_body(cls, frame[HEADER_SIZE:])
    except PduError as error:
        raise PduError(str(error), status=error.status, command_id=command_id, sequence=sequence) from None
    return cls(sequence=sequence, status=status_of(status), **values)


def _decode_body(cls: type[Pdu], body: bytes) -> dict[str, Any]:
    if not body and cls.command_id & RESPONSE_BIT:
        # Error responses come without a body (§4.1.2, §4.4.2); some SMSCs send ESME_ROK ones
        # bare too. Their fields keep their defaults.
        return {}
    reader = Reader(body)
    values: dict[str, Any] = {field.name: field.read(reader) for field in cls.layout}
    rest = reader.rest()
    if rest:
        values["options"] = decode_options(rest)
    return values


def error_response(error: PduError) -> Pdu | None:
    """The answer to a PDU that did not decode: generic_nack when the stream broke or the
    command is unknown (§4.3), the request's own response carrying the error's status when it
    is known, None for a broken response, which is not answered."""
    command_id = error.command_id
    sequence = error.sequence if error.sequence is not None else 0
    if isinstance(error, FramingError) or command_id is None:
        return GenericNack(sequence=sequence, status=error.status)
    if command_id & RESPONSE_BIT:
        return None
    response = _CLASSES.get(command_id | RESPONSE_BIT)
    if response is None:
        return GenericNack(sequence=sequence, status=error.status)
    return response(sequence=sequence, status=error.status)
