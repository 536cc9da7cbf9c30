"""The numbers of SMPP 3.4 (Issue 1.2): command ids (§5.1.2.1), command_status codes (§5.1.3),
TLV tags (§5.3.2), and the values of the body fields the server reads (§5.2)."""

from __future__ import annotations

from enum import IntEnum

RESPONSE_BIT = 0x80000000
"""A command_id with this bit set is a response (§5.1.2)."""


class CommandId(IntEnum):
    """Every command_id of SMPP 3.4; `pdu` models the ones the server and routes use."""

    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    QUERY_SM = 0x00000003
    QUERY_SM_RESP = 0x80000003
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    REPLACE_SM = 0x00000007
    REPLACE_SM_RESP = 0x80000007
    CANCEL_SM = 0x00000008
    CANCEL_SM_RESP = 0x80000008
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    OUTBIND = 0x0000000B
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015
    SUBMIT_MULTI = 0x00000021
    SUBMIT_MULTI_RESP = 0x80000021
    ALERT_NOTIFICATION = 0x00000102
    DATA_SM = 0x00000103
    DATA_SM_RESP = 0x80000103


class CommandStatus(IntEnum):
    """command_status (§5.1.3), plus ESME_RINVDCS from SMPP 5.0 (§4.7.6), which
    Kannel and Jasmin know too. A status outside this list is kept as a plain int."""

    ESME_ROK = 0x00000000  # no error
    ESME_RINVMSGLEN = 0x00000001  # message length is invalid
    ESME_RINVCMDLEN = 0x00000002  # command length is invalid
    ESME_RINVCMDID = 0x00000003  # invalid command id
    ESME_RINVBNDSTS = 0x00000004  # incorrect bind status for the command
    ESME_RALYBND = 0x00000005  # already bound
    ESME_RINVPRTFLG = 0x00000006  # invalid priority flag
    ESME_RINVREGDLVFLG = 0x00000007  # invalid registered delivery flag
    ESME_RSYSERR = 0x00000008  # system error
    ESME_RINVSRCADR = 0x0000000A  # invalid source address
    ESME_RINVDSTADR = 0x0000000B  # invalid destination address
    ESME_RINVMSGID = 0x0000000C  # message id is invalid
    ESME_RBINDFAIL = 0x0000000D  # bind failed
    ESME_RINVPASWD = 0x0000000E  # invalid password
    ESME_RINVSYSID = 0x0000000F  # invalid system id
    ESME_RCANCELFAIL = 0x00000011  # cancel_sm failed
    ESME_RREPLACEFAIL = 0x00000013  # replace_sm failed
    ESME_RMSGQFUL = 0x00000014  # message queue full
    ESME_RINVSERTYP = 0x00000015  # invalid service type
    ESME_RINVNUMDESTS = 0x00000033  # invalid number of destinations
    ESME_RINVDLNAME = 0x00000034  # invalid distribution list name
    ESME_RINVDESTFLAG = 0x00000040  # invalid destination flag (submit_multi)
    ESME_RINVSUBREP = 0x00000042  # invalid submit with replace request
    ESME_RINVESMCLASS = 0x00000043  # invalid esm_class field data
    ESME_RCNTSUBDL = 0x00000044  # cannot submit to a distribution list
    ESME_RSUBMITFAIL = 0x00000045  # submit_sm or submit_multi failed
    ESME_RINVSRCTON = 0x00000048  # invalid source address TON
    ESME_RINVSRCNPI = 0x00000049  # invalid source address NPI
    ESME_RINVDSTTON = 0x00000050  # invalid destination address TON
    ESME_RINVDSTNPI = 0x00000051  # invalid destination address NPI
    ESME_RINVSYSTYP = 0x00000053  # invalid system_type field
    ESME_RINVREPFLAG = 0x00000054  # invalid replace_if_present flag
    ESME_RINVNUMMSGS = 0x00000055  # invalid number of messages
    ESME_RTHROTTLED = 0x00000058  # throttling error: the ESME exceeded its message limits
    ESME_RINVSCHED = 0x00000061  # invalid scheduled delivery time
    ESME_RINVEXPIRY = 0x00000062  # invalid validity period
    ESME_RINVDFTMSGID = 0x00000063  # predefined message invalid or not found
    ESME_RX_T_APPN = 0x00000064  # ESME receiver temporary application error
    ESME_RX_P_APPN = 0x00000065  # ESME receiver permanent application error
    ESME_RX_R_APPN = 0x00000066  # ESME receiver reject message error
    ESME_RQUERYFAIL = 0x00000067  # query_sm failed
    ESME_RINVOPTPARSTREAM = 0x000000C0  # error in the optional part (TLVs) of the body
    ESME_ROPTPARNOTALLWD = 0x000000C1  # optional parameter not allowed
    ESME_RINVPARLEN = 0x000000C2  # invalid parameter length
    ESME_RMISSINGOPTPARAM = 0x000000C3  # expected optional parameter missing
    ESME_RINVOPTPARAMVAL = 0x000000C4  # invalid optional parameter value
    ESME_RDELIVERYFAILURE = 0x000000FE  # delivery failure (data_sm_resp)
    ESME_RUNKNOWNERR = 0x000000FF  # unknown error
    ESME_RINVDCS = 0x00000104  # invalid data coding scheme (SMPP 5.0)


def status_of(value: int) -> int:
    """A command_status as its CommandStatus member when it has one, else the int itself."""
    try:
        return CommandStatus(value)
    except ValueError:
        return value


class Tag(IntEnum):
    """TLV tags of SMPP 3.4 (§5.3.2.1-44)."""

    DEST_ADDR_SUBUNIT = 0x0005
    DEST_NETWORK_TYPE = 0x0006
    DEST_BEARER_TYPE = 0x0007
    DEST_TELEMATICS_ID = 0x0008
    SOURCE_ADDR_SUBUNIT = 0x000D
    SOURCE_NETWORK_TYPE = 0x000E
    SOURCE_BEARER_TYPE = 0x000F
    SOURCE_TELEMATICS_ID = 0x0010
    QOS_TIME_TO_LIVE = 0x0017
    PAYLOAD_TYPE = 0x0019
    ADDITIONAL_STATUS_INFO_TEXT = 0x001D
    RECEIPTED_MESSAGE_ID = 0x001E
    MS_MSG_WAIT_FACILITIES = 0x0030
    PRIVACY_INDICATOR = 0x0201
    SOURCE_SUBADDRESS = 0x0202
    DEST_SUBADDRESS = 0x0203
    USER_MESSAGE_REFERENCE = 0x0204
    USER_RESPONSE_CODE = 0x0205
    SOURCE_PORT = 0x020A
    DESTINATION_PORT = 0x020B
    SAR_MSG_REF_NUM = 0x020C
    LANGUAGE_INDICATOR = 0x020D
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    CALLBACK_NUM_PRES_IND = 0x0302
    CALLBACK_NUM_ATAG = 0x0303
    NUMBER_OF_MESSAGES = 0x0304
    CALLBACK_NUM = 0x0381
    DPF_RESULT = 0x0420
    SET_DPF = 0x0421
    MS_AVAILABILITY_STATUS = 0x0422
    NETWORK_ERROR_CODE = 0x0423
    MESSAGE_PAYLOAD = 0x0424
    DELIVERY_FAILURE_REASON = 0x0425
    MORE_MESSAGES_TO_SEND = 0x0426
    MESSAGE_STATE = 0x0427
    USSD_SERVICE_OP = 0x0501
    DISPLAY_TIME = 0x1201
    SMS_SIGNAL = 0x1203
    MS_VALIDITY = 0x1204
    ALERT_ON_MESSAGE_DELIVERY = 0x130C
    ITS_REPLY_TYPE = 0x1380
    ITS_SESSION_INFO = 0x1383


INTERFACE_VERSION = 0x34
"""interface_version of a bind and sc_interface_version of its response: SMPP 3.4 (§5.2.4)."""


class Ton(IntEnum):
    """addr_ton (§5.2.5)."""

    UNKNOWN = 0
    INTERNATIONAL = 1
    NATIONAL = 2
    NETWORK_SPECIFIC = 3
    SUBSCRIBER_NUMBER = 4
    ALPHANUMERIC = 5
    ABBREVIATED = 6


class Npi(IntEnum):
    """addr_npi (§5.2.6)."""

    UNKNOWN = 0
    ISDN = 1  # E.163/E.164
    DATA = 3  # X.121
    TELEX = 4  # F.69
    LAND_MOBILE = 6  # E.212
    NATIONAL = 8
    PRIVATE = 9
    ERMES = 10
    INTERNET = 14  # IP
    WAP_CLIENT_ID = 18


ESM_TYPE_MASK = 0x3C
"""esm_class bits 5-2 (§5.2.12): the message type, one of EsmType."""
ESM_UDHI = 0x40
"""esm_class bit 6: short_message starts with a user data header (UDHI)."""
ESM_REPLY_PATH = 0x80
"""esm_class bit 7: set reply path (GSM)."""


class EsmType(IntEnum):
    """Message types in esm_class bits 5-2 (§5.2.12); bits 1-0 (messaging mode) and 7-6 (GSM
    features) are apart: compare `esm_class & ESM_TYPE_MASK`."""

    DEFAULT = 0x00
    DELIVERY_RECEIPT = 0x04  # deliver_sm: short_message holds an SMSC delivery receipt
    DELIVERY_ACK = 0x08  # SME delivery acknowledgement
    USER_ACK = 0x10  # SME manual/user acknowledgement
    INTERMEDIATE_NOTIFICATION = 0x20


class DataCoding(IntEnum):
    """data_coding (§5.2.19). 0xF0-0xFF are GSM message classes (23.038 group F): bit 2 clear
    is the default alphabet, set is 8-bit data."""

    DEFAULT = 0x00  # SMSC default alphabet: GSM 03.38 7-bit, one septet per octet (see `text`)
    IA5 = 0x01  # IA5 (CCITT T.50) / ASCII (ANSI X3.4)
    BINARY_2 = 0x02  # octet unspecified (8-bit binary)
    LATIN1 = 0x03  # ISO-8859-1
    BINARY = 0x04  # octet unspecified (8-bit binary)
    JIS = 0x05  # JIS (X 0208-1990)
    CYRILLIC = 0x06  # ISO-8859-5
    LATIN_HEBREW = 0x07  # ISO-8859-8
    UCS2 = 0x08  # UCS-2 big endian (ISO/IEC-10646)
    PICTOGRAM = 0x09
    MUSIC_CODES = 0x0A  # ISO-2022-JP
    EXTENDED_KANJI = 0x0D  # JIS (X 0212-1990)
    KS_C_5601 = 0x0E


RECEIPT_MASK = 0x03
"""registered_delivery bits 1-0 (§5.2.17): 0 no receipt, 1 on success or failure, 2 on failure."""


def wants_receipt(registered_delivery: int, *, delivered: bool) -> bool:
    """Whether a submit's registered_delivery asks for the SMSC delivery receipt of an outcome.
    Value 3 is reserved; it asks for nothing."""
    wanted = registered_delivery & RECEIPT_MASK
    return wanted == 1 or (wanted == 2 and not delivered)


class MessageState(IntEnum):
    """message_state (§5.2.28): the message_state TLV of a receipt and query_sm_resp."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8

    @property
    def stat(self) -> str:
        """The state's 7-character name in the stat: field of a receipt (Appendix B)."""
        return _STATS[self]


_STATS = {
    MessageState.ENROUTE: "ENROUTE",
    MessageState.DELIVERED: "DELIVRD",
    MessageState.EXPIRED: "EXPIRED",
    MessageState.DELETED: "DELETED",
    MessageState.UNDELIVERABLE: "UNDELIV",
    MessageState.ACCEPTED: "ACCEPTD",
    MessageState.UNKNOWN: "UNKNOWN",
    MessageState.REJECTED: "REJECTD",
}
