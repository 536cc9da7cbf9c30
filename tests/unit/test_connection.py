"""The connection's own helpers: raw request targets and the per-address count."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from simrelay.api.connection import AddressSlots, percent_encoded


def test_raw_bytes_of_a_request_line_are_percent_encoded_and_ascii_is_untouched() -> None:
    line = "GET /v1/sms?search=Привет HTTP/1.1\r\n".encode()
    encoded = percent_encoded(line)
    assert encoded == b"GET /v1/sms?search=%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82 HTTP/1.1\r\n"
    assert unquote_to_bytes(encoded) == line
    assert percent_encoded(b"GET /a%20b HTTP/1.1\r\n") == b"GET /a%20b HTTP/1.1\r\n"
    assert percent_encoded(b"\xff") == b"%FF"


def test_an_address_holds_at_most_its_bound_and_slots_come_back() -> None:
    slots = AddressSlots()
    assert [slots.take("a", 2) for _ in range(3)] == [True, True, False]
    assert slots.take("b", 2)  # another address is not affected
    slots.give_back("a")
    assert slots.take("a", 2) and not slots.take("a", 2)
    for _ in range(3):
        slots.give_back("a")
    assert slots._open == {"b": 1}  # nothing left behind for an address that has gone
    assert all(slots.take("c", 0) for _ in range(1000))  # 0: no bound
