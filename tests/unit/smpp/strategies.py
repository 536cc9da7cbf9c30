"""Hypothesis strategies for SMPP PDUs, built from each class's layout so a field added to a
PDU is covered without touching the tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from simrelay.smpp.codes import CommandStatus, Tag
from simrelay.smpp.fields import CString, Field, Integer, ShortMessage
from simrelay.smpp.pdu import Pdu
from simrelay.smpp.tlv import NetworkErrorCode, Options, Tlv

NAMED_TAGS = {
    Tag.USER_MESSAGE_REFERENCE,
    Tag.SOURCE_PORT,
    Tag.DESTINATION_PORT,
    Tag.SAR_MSG_REF_NUM,
    Tag.SAR_TOTAL_SEGMENTS,
    Tag.SAR_SEGMENT_SEQNUM,
    Tag.SC_INTERFACE_VERSION,
    Tag.MESSAGE_PAYLOAD,
    Tag.NETWORK_ERROR_CODE,
    Tag.MESSAGE_STATE,
    Tag.RECEIPTED_MESSAGE_ID,
}

latin1 = st.characters(min_codepoint=1, max_codepoint=0xFF)


def cstrings(size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=latin1, max_size=size - 1)


def integers(size: int) -> st.SearchStrategy[int]:
    return st.integers(min_value=0, max_value=(1 << (8 * size)) - 1)


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


options = st.builds(
    Options,
    user_message_reference=_optional(integers(2)),
    source_port=_optional(integers(2)),
    destination_port=_optional(integers(2)),
    sar_msg_ref_num=_optional(integers(2)),
    sar_total_segments=_optional(integers(1)),
    sar_segment_seqnum=_optional(integers(1)),
    sc_interface_version=_optional(integers(1)),
    message_payload=_optional(st.binary(max_size=600)),
    network_error_code=_optional(st.builds(NetworkErrorCode, integers(1), integers(2))),
    message_state=_optional(integers(1)),
    receipted_message_id=_optional(cstrings(65)),
    other=st.lists(
        st.builds(Tlv, integers(2).filter(lambda tag: tag not in NAMED_TAGS), st.binary(max_size=40)),
        max_size=3,
    ).map(tuple),
)


def _field(field: Field) -> st.SearchStrategy[Any]:
    if isinstance(field, Integer):
        return integers(field.size)
    if isinstance(field, CString):
        return cstrings(field.size)
    assert isinstance(field, ShortMessage)
    return st.binary(max_size=254)


statuses = st.sampled_from(list(CommandStatus)) | integers(4)


def pdus(cls: type[Pdu]) -> st.SearchStrategy[Pdu]:
    """Any PDU of a class that SMPP 3.4 lets it carry; a response that leaves its body out on
    error gets ESME_ROK here (the bare form has its own test)."""
    status = st.just(CommandStatus.ESME_ROK) if cls.bare_on_error else statuses
    fields = {field.name: _field(field) for field in cls.layout}
    return st.builds(cls, sequence=integers(4), status=status, options=options, **fields)
