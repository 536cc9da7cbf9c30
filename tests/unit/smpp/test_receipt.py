"""Delivery receipts (SMPP 3.4 Appendix B): the text built is the one Kannel's and Jasmin's
parsers read, and the parser reads the variants their test suites and SMSCs show."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simrelay.smpp.codes import EsmType, MessageState, wants_receipt
from simrelay.smpp.pdu import DataSm, DeliverSm
from simrelay.smpp.receipt import Receipt, format_receipt, parse_receipt, receipt_of, receipt_options
from simrelay.smpp.text import encode_text
from simrelay.smpp.tlv import Options


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> float:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC).timestamp()


SUBMITTED = utc(2026, 12, 6, 4, 30)
DONE = utc(2026, 12, 6, 4, 31, 59)
RECEIPT = Receipt(
    message_id="6752b9a0c1d2e3f405a6b7c8",
    state=MessageState.DELIVERED,
    submitted=SUBMITTED,
    done=DONE,
    text="Hi!",
)


def test_format() -> None:
    assert format_receipt(RECEIPT) == (
        "id:6752b9a0c1d2e3f405a6b7c8 sub:001 dlvrd:001 submit date:2612060430 done date:2612060431"
        " stat:DELIVRD err:000 text:Hi!"
    )


@pytest.mark.parametrize(
    ("state", "stat", "dlvrd"),
    [
        (MessageState.ENROUTE, "ENROUTE", "000"),
        (MessageState.DELIVERED, "DELIVRD", "001"),
        (MessageState.EXPIRED, "EXPIRED", "000"),
        (MessageState.DELETED, "DELETED", "000"),
        (MessageState.UNDELIVERABLE, "UNDELIV", "000"),
        (MessageState.ACCEPTED, "ACCEPTD", "000"),
        (MessageState.UNKNOWN, "UNKNOWN", "000"),
        (MessageState.REJECTED, "REJECTD", "000"),
    ],
)
def test_stat_names_and_dlvrd(state: MessageState, stat: str, dlvrd: str) -> None:
    assert (state.stat, len(state.stat)) == (stat, 7)
    text = format_receipt(Receipt(message_id="1", state=state, error="013"))
    assert f" dlvrd:{dlvrd} " in text
    assert f" stat:{stat} err:013 text:" in text
    assert "submit date:0000000000 done date:0000000000" in text


def test_text_is_cut_to_20_and_made_ascii() -> None:
    text = format_receipt(
        Receipt(message_id="1", state=MessageState.DELIVERED, text="Привет, мир! @home_$ and more")
    )
    assert text.endswith(" text:??????, ???! ?home??")


@pytest.mark.parametrize(
    "fields",
    [{"message_id": "a b"}, {"message_id": ""}, {"error": "0 1"}, {"error": ""}, {"message_id": "a\nb"}],
)
def test_id_and_err_are_one_word(fields: dict[str, Any]) -> None:
    receipt = replace(Receipt("1", MessageState.DELIVERED), **fields)
    with pytest.raises(ValueError, match="one word"):
        format_receipt(receipt)


receipts = st.builds(
    Receipt,
    message_id=st.from_regex(r"[0-9a-f]{24}", fullmatch=True),
    state=st.sampled_from(MessageState),
    submitted=st.none() | st.integers(946684800, 4102444740).map(lambda s: float(s - s % 60)),
    done=st.none() | st.integers(946684800, 4102444740).map(lambda s: float(s - s % 60)),
    error=st.from_regex(r"[0-9]{3}", fullmatch=True),
    text=st.text(max_size=30),
    sub=st.integers(0, 999),
    dlvrd=st.integers(0, 999),
)

# Kannel gw/smsc/smsc_smpp.c handle_dlr: sscanf(respstr, "id:%64[^ ] sub:%d dlvrd:%d submit
# date:%14[0-9] done date:%14[0-9] stat:%15[^ ] err:%3[^ ]") must fill all seven.
KANNEL = re.compile(
    r"id:([^ ]{1,64}) sub:(\d+) dlvrd:(\d+) submit date:([0-9]{1,14}) done date:([0-9]{1,14})"
    r" stat:([^ ]{1,15}) err:([^ ]{1,3})"
)
# Jasmin jasmin/protocols/smpp/operations.py isDeliveryReceipt: each pattern is searched alone.
JASMIN = {
    "id": r"id:(?P<id>[\dA-Za-z-_]+)",
    "sub": r"sub:(?P<sub>\d{1,3})",
    "dlvrd": r"dlvrd:(?P<dlvrd>\d{1,3})",
    "sdate": r"submit date:(?P<sdate>\d+)",
    "ddate": r"done date:(?P<ddate>\d+)",
    "stat": r"stat:(?P<stat>\w{7})",
    "err": r"err:(?P<err>\w{1,3})",
    "text": r"[tT]ext:(?P<text>.*)",
}


@settings(deadline=None)  # CI runs suites side by side on two cores
@given(receipts)
def test_round_trip_and_what_kannel_and_jasmin_read(receipt: Receipt) -> None:
    text = format_receipt(receipt)
    parsed = parse_receipt(text)
    assert parsed is not None
    assert parsed.text == text.split(" text:", 1)[1]
    expected = Receipt(
        message_id=receipt.message_id,
        state=receipt.state,
        submitted=receipt.submitted,
        done=receipt.done,
        error=receipt.error,
        text=parsed.text,
        sub=receipt.sub,
        dlvrd=receipt.dlvrd,
    )
    assert parsed == expected
    kannel = KANNEL.match(text)
    assert kannel is not None
    assert (kannel[1], kannel[6], kannel[7]) == (receipt.message_id, receipt.state.stat, receipt.error)
    jasmin = {key: match[1] for key, pattern in JASMIN.items() if (match := re.search(pattern, text))}
    assert (jasmin["id"], jasmin["stat"], jasmin["err"]) == (
        receipt.message_id,
        receipt.state.stat,
        receipt.error,
    )
    assert (jasmin["sub"], jasmin["dlvrd"]) == (f"{receipt.sub:03d}", f"{receipt.dlvrd:03d}")


@settings(deadline=None)
@given(receipts)
def test_receipt_octets_are_the_same_in_gsm7_and_ascii(receipt: Receipt) -> None:
    text = format_receipt(receipt)
    assert encode_text(text) == (0, text.encode("ascii"))


# --- variants read ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # jookies/jasmin tests/protocols/smpp/test_operations.py, test_is_delivery_standard
        (
            "id:1891273321 sub:001 dlvrd:001 submit date:1305050826 done date:1305050826 stat:DELIVRD err:000"
            " text:DLVRD TO MOBILE",
            Receipt(
                "1891273321",
                MessageState.DELIVERED,
                utc(2013, 5, 5, 8, 26),
                utc(2013, 5, 5, 8, 26),
                "000",
                "DLVRD TO MOBILE",
                1,
                1,
            ),
        ),
        # test_is_delivery_clickatell_70: dates with seconds, a hex id
        (
            "id:a29f6845555647139e5c8f3b817f2c9a sub:001 dlvrd:001 submit date:141023215253 done"
            " date:141023215259 stat:DELIVRD err:000 text:HOLA",
            Receipt(
                "a29f6845555647139e5c8f3b817f2c9a",
                MessageState.DELIVERED,
                utc(2014, 10, 23, 21, 52, 53),
                utc(2014, 10, 23, 21, 52, 59),
                "000",
                "HOLA",
                1,
                1,
            ),
        ),
        # test_is_delivery_jasmin_195: no sub, dlvrd or text; its 12-digit dates are YYYYMMDDhhmm,
        # which read as YYMMDDhhmmss give month 15: unknown.
        (
            "id:c87c2273-7edb-4bc7-8d3a-7f57f21b625e submit date:201506201641 done date:201506201641"
            " stat:DELIVRD err:000",
            Receipt(
                "c87c2273-7edb-4bc7-8d3a-7f57f21b625e",
                MessageState.DELIVERED,
                None,
                None,
                "000",
                "",
                None,
                None,
            ),
        ),
        # test_is_delivery_goip: unpadded sub, dlvrd and err, "Text:" with control characters
        (
            "id:68673723 sub:1 dlvrd:13 submit date:1909301545 done date:1909301545 stat:DELIVRD err:0"
            " Text:\x04\x1a",
            Receipt(
                "68673723",
                MessageState.DELIVERED,
                utc(2019, 9, 30, 15, 45),
                utc(2019, 9, 30, 15, 45),
                "0",
                "\x04\x1a",
                1,
                13,
            ),
        ),
        # The shape Jasmin's own SMPP server sends (operations.py getReceipt): no sub, dlvrd or text
        (
            "id:4a38dc46 submit date:2612060430 done date:2612060431 stat:UNDELIV err:000",
            Receipt("4a38dc46", MessageState.UNDELIVERABLE, SUBMITTED, utc(2026, 12, 6, 4, 31), "000"),
        ),
        # A UNDELIV report found on the web (e-com-net.com), err 075, text naming the cause
        (
            "id:0911897980 sub:001 dlvrd:000 submit date:1201121551 done date:1201121551 stat:UNDELIV err:075"
            " text:-PROFILE",
            Receipt(
                "0911897980",
                MessageState.UNDELIVERABLE,
                utc(2012, 1, 12, 15, 51),
                utc(2012, 1, 12, 15, 51),
                "075",
                "-PROFILE",
                1,
                0,
            ),
        ),
    ],
)
def test_variants(text: str, expected: Receipt) -> None:
    assert parse_receipt(text) == expected


@pytest.mark.parametrize(
    ("stat", "state"),
    [
        ("BUFFRED", MessageState.ENROUTE),  # Kannel reads these as "buffered"
        ("ACKED", MessageState.ENROUTE),
        ("DELIVERED", MessageState.DELIVERED),
        ("undeliv", MessageState.UNDELIVERABLE),
        ("FAILED", MessageState.UNKNOWN),
    ],
)
def test_stat_variants(stat: str, state: MessageState) -> None:
    receipt = parse_receipt(f"id:1 stat:{stat} err:000")
    assert receipt is not None
    assert receipt.state == state


def test_date_that_is_none_reads_as_unknown() -> None:
    receipt = parse_receipt("id:1 submit date:1313131313 done date:123 stat:DELIVRD")
    assert receipt is not None
    assert (receipt.submitted, receipt.done) == (None, None)


def test_text_may_hold_fields() -> None:
    receipt = parse_receipt("id:1 stat:DELIVRD err:000 text:id:2 stat:REJECTD")
    assert receipt is not None
    assert (receipt.message_id, receipt.state, receipt.text) == (
        "1",
        MessageState.DELIVERED,
        "id:2 stat:REJECTD",
    )


@pytest.mark.parametrize("text", ["Hello there", "id:1 sub:001 err:000", "stat:DELIVRD err:000", ""])
def test_not_a_receipt(text: str) -> None:
    assert parse_receipt(text) is None


def test_bytes_are_read_as_latin1_and_a_trailing_nul_dropped() -> None:
    # jookies/jasmin test_pdu_decoding.py test_deliver_sm_resp_unknown_error (#937): octets above 0x7F.
    receipt = parse_receipt(
        b"id:0416342074 sub:001 dlvrd:001 submit date:2101041522 done date:2101041522 stat:DELIVRD err:000"
        b" text:\x84A\x89O\x88 ENTO\x84H. \x8cAPAKA\x00"
    )
    assert receipt is not None
    assert receipt.text == "\x84A\x89O\x88 ENTO\x84H. \x8cAPAKA"


# --- receipts in PDUs ------------------------------------------------------------------------------


def deliver(short_message: bytes, **options: Any) -> DeliverSm:
    return DeliverSm(
        esm_class=EsmType.DELIVERY_RECEIPT, short_message=short_message, options=Options(**options)
    )


def test_tlvs_win_over_the_text() -> None:
    # Jasmin test_take_msgid_from_tlv_first (#427); Kannel reads receipted_message_id first too.
    pdu = deliver(
        b"id:1111 sub:001 dlvrd:001 submit date:1305050826 done date:1305050826 stat:DELIVRD err:000 text:x",
        receipted_message_id="2222",
        message_state=MessageState.EXPIRED,
    )
    assert receipt_of(pdu) == Receipt(
        "2222", MessageState.EXPIRED, utc(2013, 5, 5, 8, 26), utc(2013, 5, 5, 8, 26), "000", "x", 1, 1
    )


def test_tlvs_alone() -> None:
    # Jasmin test_is_delivery_mmg_deliver_sm_224 (Sicap MMG) and test_is_delivery_mmg_data_sm_92.
    pdu = deliver(b"362d9701 2", receipted_message_id="362d9701", message_state=2)
    assert receipt_of(pdu) == Receipt("362d9701", MessageState.DELIVERED, error="")
    data_sm = DataSm(esm_class=4, options=Options(receipted_message_id="362d9701", message_state=2))
    assert receipt_of(data_sm) == Receipt("362d9701", MessageState.DELIVERED, error="")


def test_unknown_message_state_falls_back_to_the_text() -> None:
    pdu = deliver(b"id:1 stat:REJECTD err:000", receipted_message_id="1", message_state=9)
    receipt = receipt_of(pdu)
    assert receipt is not None
    assert receipt.state == MessageState.REJECTED


def test_receipt_in_message_payload() -> None:
    pdu = deliver(b"", message_payload=b"id:77 stat:DELIVRD err:000\x00")
    assert receipt_of(pdu) == Receipt("77", MessageState.DELIVERED, error="000")


def test_ucs2_receipt_text() -> None:
    pdu = DeliverSm(
        esm_class=4, data_coding=8, short_message="id:5 stat:EXPIRED err:000 text:Ж".encode("utf-16-be")
    )
    receipt = receipt_of(pdu)
    assert receipt is not None
    assert (receipt.message_id, receipt.state, receipt.text) == ("5", MessageState.EXPIRED, "Ж")


def test_no_receipt() -> None:
    assert receipt_of(deliver(b"just a message")) is None
    assert receipt_of(deliver(b"", message_state=2)) is None


def test_receipt_options() -> None:
    assert receipt_options(RECEIPT) == Options(
        receipted_message_id="6752b9a0c1d2e3f405a6b7c8", message_state=MessageState.DELIVERED
    )


@pytest.mark.parametrize(
    ("registered_delivery", "delivered", "wanted"),
    [
        (0, True, False),
        (0, False, False),
        (1, True, True),
        (1, False, True),
        (2, True, False),
        (2, False, True),
        (3, False, False),
        (0x11, True, True),
        (0x1C, False, False),
    ],
)
def test_wants_receipt(registered_delivery: int, delivered: bool, wanted: bool) -> None:
    assert wants_receipt(registered_delivery, delivered=delivered) is wanted
