"""Message text in SMPP: short_message octets by data_coding (SMPP 3.4 §5.2.19), the user data
header of a long message's parts (esm_class UDHI, 3GPP TS 23.040 9.2.3.24), and text split into
deliver_sm parts.

data_coding 0 is "SMSC default alphabet", which the spec leaves to the SMSC. Kannel
(gw/smsc/smsc_smpp.c, unless `alt-charset` is set), Jasmin (the `gsm0338` codec for coding 0)
and smpplib (`gsm.gsm_encode`) all read and write it as the GSM 03.38 default alphabet, one
septet per octet, unpacked, extension characters as ESC and a code: that is the default here.
Some clients put Latin-1 (or plain ASCII) there instead; DefaultAlphabet.LATIN1 reads a
client's coding 0 that way, as Kannel's `alt-charset = ISO-8859-1` does. Packed septets in
SMPP are vendor-specific and not supported.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from simrelay import gsm7
from simrelay.smpp.codes import CommandStatus, DataCoding
from simrelay.smpp.fields import PduError
from simrelay.smpp.tlv import Options


class DefaultAlphabet(StrEnum):
    """What data_coding 0 means for a client (see the module docstring)."""

    GSM7 = "gsm7"  # GSM 03.38 default alphabet, one septet per octet
    LATIN1 = "latin1"  # ISO-8859-1, one character per octet


def _gsm7_decode(data: bytes) -> str:
    octet = max(data, default=0)
    if octet > 0x7F:
        raise PduError(
            f"octet {octet:#04x} is no GSM 7-bit code: does the client send Latin-1 as data_coding 0?",
            status=CommandStatus.ESME_RINVDCS,
        )
    return gsm7.decode_septets(data)


def _ucs2_decode(data: bytes) -> str:
    if len(data) % 2:
        raise PduError(
            f"UCS-2 text of {len(data)} octets: not whole characters", status=CommandStatus.ESME_RINVMSGLEN
        )
    # UTF-16 really: clients send emoji as surrogate pairs. A lone half becomes U+FFFD.
    return data.decode("utf-16-be", "replace")


_CODECS: dict[int, str] = {
    DataCoding.IA5: "ascii",
    DataCoding.LATIN1: "latin-1",
    DataCoding.CYRILLIC: "iso8859-5",
    DataCoding.LATIN_HEBREW: "iso8859-8",
}


def decode_text(
    data: bytes, data_coding: int, *, default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM7
) -> str:
    """The text of short_message (or message_payload) octets, its UDH already split off.

    Codings 0 (per `default_alphabet`), 1, 3, 6, 7, 8 and 0xF0-0xF3 (GSM message class, default
    alphabet) are text. PduError: ESME_RINVDCS for binary (2, 4, 0xF4-0xFF), for codings
    without a codec here, and for octets that the coding has no character for; ESME_RINVMSGLEN
    for UCS-2 of an odd length."""
    if data_coding == DataCoding.DEFAULT and default_alphabet is DefaultAlphabet.LATIN1:
        return data.decode("latin-1")
    if data_coding == DataCoding.DEFAULT or 0xF0 <= data_coding <= 0xF3:
        return _gsm7_decode(data)
    if data_coding == DataCoding.UCS2:
        return _ucs2_decode(data)
    name = _CODECS.get(data_coding)
    if name is None:
        raise PduError(
            f"data_coding {data_coding:#04x} is not text this server reads", status=CommandStatus.ESME_RINVDCS
        )
    try:
        return data.decode(name)
    except UnicodeDecodeError as error:
        raise PduError(f"not {name} text: {error.reason}", status=CommandStatus.ESME_RINVDCS) from None


def message_octets(short_message: bytes, options: Options) -> bytes:
    """The message of a submit_sm or deliver_sm: short_message, or the message_payload TLV
    that replaces it (§5.3.2.32). PduError (ESME_RINVMSGLEN) when both hold octets."""
    if options.message_payload is None:
        return short_message
    if short_message:
        raise PduError(
            "short_message and message_payload both hold the message", status=CommandStatus.ESME_RINVMSGLEN
        )
    return options.message_payload


@dataclass(frozen=True, slots=True)
class Concat:
    """One part of a long message: the UDH's concatenation element (IEI 0x00, or 0x08 for a
    16-bit reference), or the SAR TLVs."""

    reference: int
    total: int
    seq: int  # 1-based


def _valid(reference: int, total: int, seq: int) -> Concat | None:
    # 23.040 9.2.3.24.1: an element whose part number is 0 or past the total is ignored.
    return Concat(reference, total, seq) if 0 < seq <= total else None


def split_udh(message: bytes) -> tuple[Concat | None, bytes]:
    """The concatenation element of the UDH that starts a message whose esm_class has UDHI
    (0x40), and the message after the UDH. Other elements (ports, ...) are skipped. PduError
    (ESME_RINVESMCLASS, as Kannel answers) for a UDH longer than the message or an element
    running past the UDH."""
    if not message or message[0] + 1 > len(message):
        raise PduError("the UDH is longer than the message", status=CommandStatus.ESME_RINVESMCLASS)
    header, rest = message[1 : 1 + message[0]], message[1 + message[0] :]
    concat = None
    at = 0
    while at < len(header):
        if at + 2 > len(header) or at + 2 + header[at + 1] > len(header):
            raise PduError(
                "an information element runs past the end of the UDH", status=CommandStatus.ESME_RINVESMCLASS
            )
        iei, value = header[at], header[at + 2 : at + 2 + header[at + 1]]
        at += 2 + len(value)
        if (iei, len(value)) in ((0x00, 3), (0x08, 4)):
            concat = _valid(int.from_bytes(value[:-2], "big"), value[-2], value[-1])
    return concat, rest


def sar_concat(options: Options) -> Concat | None:
    """A part's place from the SAR TLVs (§5.3.2.22-24), None unless all three are there."""
    reference, total, seq = options.sar_msg_ref_num, options.sar_total_segments, options.sar_segment_seqnum
    if reference is None or total is None or seq is None:
        return None
    return _valid(reference, total, seq)


def gsm7_fits(text: str) -> bool:
    return gsm7.fits(text)


def encode_text(text: str, *, default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM7) -> tuple[int, bytes]:
    """data_coding and octets for a text: coding 0 in the client's default alphabet when every
    character has a code there, else UCS-2 (8), surrogate pairs for characters past the BMP.
    ValueError for a lone surrogate."""
    data_coding = _coding_of(text, default_alphabet)
    return data_coding, b"".join(_pieces(text, data_coding, default_alphabet))


def _coding_of(text: str, default_alphabet: DefaultAlphabet) -> int:
    if default_alphabet is DefaultAlphabet.LATIN1:
        fits = all(ord(char) < 0x100 for char in text)
    else:
        fits = gsm7_fits(text)
    return DataCoding.DEFAULT if fits else DataCoding.UCS2


def _pieces(text: str, data_coding: int, default_alphabet: DefaultAlphabet) -> list[bytes]:
    # One piece per character: a part never splits an escape pair or a surrogate pair.
    if data_coding == DataCoding.UCS2:
        return [char.encode("utf-16-be") for char in text]
    if default_alphabet is DefaultAlphabet.LATIN1:
        return [char.encode("latin-1") for char in text]
    return [gsm7.septets_of(char) for char in text]


# Units a part holds, alone and with a concatenation UDH: septets (or Latin-1 characters, which
# an SMSC sends on as septets) and UCS-2 code units, as a phone's SMS and the server count them.
_LIMITS = {DataCoding.DEFAULT: (160, 153, 1), DataCoding.UCS2: (70, 67, 2)}


def encode_parts(
    text: str, *, reference: int, default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM7
) -> tuple[int, list[bytes]]:
    """data_coding and the short_message of each deliver_sm for a text: one part when it fits
    an SMS, else parts of 153 septets or 67 UCS-2 units each behind a UDH (esm_class 0x40) with
    an 8-bit concatenation element of `reference` (0-255). ValueError past 255 parts."""
    if not 0 <= reference <= 0xFF:
        raise ValueError(f"a concatenation reference is 0-255, not {reference}")
    data_coding = _coding_of(text, default_alphabet)
    pieces = _pieces(text, data_coding, default_alphabet)
    single, multi, unit = _LIMITS[DataCoding(data_coding)]
    if sum(len(piece) for piece in pieces) <= single * unit:
        return data_coding, [b"".join(pieces)]
    payloads: list[bytearray] = [bytearray()]
    for piece in pieces:
        if len(payloads[-1]) + len(piece) > multi * unit:
            payloads.append(bytearray())
        payloads[-1] += piece
    if len(payloads) > 0xFF:
        raise ValueError(f"the text needs {len(payloads)} parts, more than a concatenated SMS holds")
    total = len(payloads)
    return data_coding, [
        bytes([5, 0x00, 3, reference, total, seq]) + payload for seq, payload in enumerate(payloads, start=1)
    ]
