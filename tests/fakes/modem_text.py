"""The fake modem in text mode (AT+CMGF=1), as 3GPP TS 27.005 §3-4 and the SIM800 manual describe it.

Sources: SIMCom, "SIM800 Series_AT Command Manual_V1.09" (2015-08-03): AT+CMGL (p. 115: text-mode
`+CMGL: <index>,<stat>,<oa/da>[,<alpha>][,<scts>][,<tooa/toda>,<length>]<CR><LF><data>`, and
`+CMGL: <index>,<stat>,<fo>,<mr>[,<ra>][,<tora>],<scts>,<dt>,<st>` for status reports, no data
line), AT+CMGR (p. 118, the same shapes without <index>; with AT+CSDH=1 a received SMS adds
`<tooa>,<fo>,<pid>,<dcs>,<sca>,<tosca>,<length>`, and p. 118 on <data>: GSM text converted to the
TE character set of AT+CSCS, 8-bit and UCS2 data, or any with a UDH, as hex octets whatever the
set); manual V1.05 §4.2.15 AT+CSMP ("status report is supported under text mode if <fo> is set
to 49", default 17,167,0,0).

Written apart from `simrelay.modem.text`, so each checks the other. Text mode carries no UDH: the
fake shows each stored part's own text, and a text-mode submission is one SMS, never a part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tests.fakes.modem_identity import _Fail
from tests.fakes.modem_sms import Air, Memories, StatusOf, Stored, Submission
from tests.fakes.quirks import Profile
from tests.fakes.sms_pdus import GSM7, SMSC, Pdu, Submitted, gsm7_septets

_STATS = {StatusOf.UNREAD: "REC UNREAD", StatusOf.READ: "REC READ", StatusOf.UNSENT: "STO UNSENT",
          StatusOf.SENT: "STO SENT"}  # fmt: skip
_SCTS = "26/12/05,14:30:15+00"  # sms_pdus' time stamp; the zone in quarter hours
_NO_PDU = Pdu("", 0)  # what a message received in text mode stores as its PDU: never shown


@dataclass(frozen=True, slots=True)
class Content:
    """What a stored PDU says, kept beside it for text-mode listings: an SMS's sender and text, or
    a status report's recipient, reference and TP-ST."""

    address: str
    text: str = ""
    reference: int | None = None  # set for a status report
    status: int = 0


class TextModeCommands:
    """Mixed into `FakeModem`: AT+CSCS, AT+CSMP, AT+CSDH and the text-mode forms of AT+CMGS,
    AT+CMGL, AT+CMGR, +CMT and +CDS."""

    profile: Profile
    cmgf: int
    cnmi_mt: int
    cnmi_ds: int
    read_memory: str
    memories: Memories
    air: Air
    delivery: bool | None
    report_delay: float
    send_failure: int | None
    _answer: Callable[[list[str]], None]
    _error: Callable[..., str]
    _lines: Callable[..., None]
    _later: Callable[[float, Callable[[], None]], None]
    _send: Callable[[str], None]

    def _reset_text_mode(self) -> None:
        self.cscs = "IRA"  # the SIM800's power-on default
        self.csmp = (17, 167, 0, 0)
        self.csdh = 0
        self._text_address: tuple[str, int] | None = None  # (<da>, <toda>) while collecting a text

    # -- the TE character set --------------------------------------------------------------------

    def _te(self, text: str) -> str:
        """`text` written in the TE character set."""
        if self.cscs == "UCS2":
            return text.encode("utf-16-be").hex().upper()
        if self.cscs == "GSM":
            return "".join(chr(GSM7.index(char)) if char in GSM7 else "?" for char in text)
        return text.encode("ascii", "replace").decode("ascii")

    def _from_te(self, text: str) -> str:
        if self.cscs == "UCS2":
            return bytes.fromhex(text).decode("utf-16-be")
        if self.cscs == "GSM":
            return "".join(GSM7[ord(char)] for char in text)
        return text

    def _at_cscs(self, mode: str, args: str) -> list[str]:
        if mode == "=?":
            return ['+CSCS: ("IRA","GSM","UCS2")', "OK"]
        if mode == "?":
            return [f'+CSCS: "{self.cscs}"', "OK"]
        wanted = args.strip('"').upper()
        if wanted not in ("IRA", "GSM", "UCS2"):
            raise _Fail(4, "+CME ERROR")
        self.cscs = wanted
        return ["OK"]

    def _at_csmp(self, mode: str, args: str) -> list[str]:
        if mode == "?":
            return ["+CSMP: " + ",".join(str(value) for value in self.csmp), "OK"]
        fo, vp, pid, dcs = (int(value) for value in args.split(","))
        self.csmp = (fo, vp, pid, dcs)
        return ["OK"]

    def _at_csdh(self, mode: str, args: str) -> list[str]:
        if mode == "?":
            return [f"+CSDH: {self.csdh}", "OK"]
        self.csdh = int(args or 0)
        return ["OK"]

    # -- sending ---------------------------------------------------------------------------------

    def _text_cmgs(self, args: str) -> None:
        """`AT+CMGS="<da>"[,<toda>]`: the prompt; the text follows up to Ctrl-Z."""
        address, _, toda = args.partition(",")
        if not (address.startswith('"') and address.endswith('"')):
            raise _Fail(305)  # a PDU length in text mode
        self._text_address = (self._from_te(address.strip('"')), int(toda or 129))
        self._send(f"{self.profile.eol}> ")

    def _submit_text(self, data: str) -> None:
        assert self._text_address is not None
        (address, toda), self._text_address = self._text_address, None
        fo, _, _, dcs = self.csmp
        try:
            # 27.005 §3.1: with <dcs> 8 the text is hex octets whatever the TE set.
            text = bytes.fromhex(data).decode("utf-16-be") if dcs == 8 else self._from_te(data)
        except ValueError:
            self._answer([self._error(305)])
            return
        septets = gsm7_septets(text)
        if (dcs == 0 and (septets is None or len(septets) > 160)) or (dcs == 8 and len(text) > 70):
            self._answer([self._error(305)])  # more than one SMS: text mode has no UDH to split it
            return
        if self.send_failure is not None:
            self._answer([self._error(self.send_failure)])
            return
        recipient = "+" + address if toda == 145 and not address.startswith("+") else address
        wants_report = bool(fo & 0x20)
        submission = self.air.submit("", len(data), Submitted(recipient, text, wants_report, None))
        self._answer([f"+CMGS: {submission.reference}", "OK"])
        if wants_report and self.delivery is not None:
            delivered = self.delivery
            self._later(self.report_delay, lambda: self.report_text(submission, delivered=delivered))

    def report_text(self, submission: Submission, *, delivered: bool) -> None:
        """The status report in text mode: `+CDS: <fo>,<mr>,"<ra>",<tora>,"<scts>","<dt>",<st>`
        (<ds>=1), or stored in "SR" and announced +CDSI (<ds>=2)."""
        status = 0x00 if delivered else 0x41
        content = Content(submission.recipient, reference=submission.reference, status=status)
        if self.cnmi_ds == 1:
            self._lines("+CDS: " + self._report_fields(content))
        elif self.cnmi_ds == 2:
            index = self.memories.store("SR", _NO_PDU, content=content)
            self._lines(f'+CDSI: "SR",{index}')

    def _report_fields(self, content: Content) -> str:
        tora = 145 if content.address.startswith("+") else 129
        return (f'6,{content.reference},"{self._te(content.address)}",{tora},"{_SCTS}","{_SCTS}",'
                f"{content.status}")  # fmt: skip

    # -- receiving -------------------------------------------------------------------------------

    def receive_text(self, sender: str, text: str) -> int | None:
        """An SMS from the network in text mode: stored with +CMTI (<mt>=1), or routed as
        `+CMT: "<oa>",,"<scts>"[,...]` and its data line (<mt>=2). Returns the index if stored."""
        content = Content(sender, text)
        if self.cnmi_mt == 2:
            self._lines(f'+CMT: "{self._te(sender)}","",' + self._deliver_header(content, full=True),
                        self._data(content))  # fmt: skip
            return None
        index = self.memories.store("SM", _NO_PDU, content=content)
        if self.cnmi_mt == 1:
            self._lines(f'+CMTI: "SM",{index}')
        return index

    def _dcs(self, content: Content) -> int:
        return 0 if gsm7_septets(content.text) is not None else 8

    def _data(self, content: Content) -> str:
        if self._dcs(content) == 8:
            return content.text.encode("utf-16-be").hex().upper()
        return self._te(content.text)

    def _deliver_header(self, content: Content, *, full: bool) -> str:
        """`"<scts>"` and, with AT+CSDH=1, the detail of +CMGR/+CMT (`full`) or of +CMGL."""
        header = f'"{_SCTS}"'
        if self.csdh:
            tooa = 145 if content.address.startswith("+") else 129
            length = len(self._data(content)) // 2 if self._dcs(content) == 8 else len(content.text)
            if full:
                header += f',{tooa},4,0,{self._dcs(content)},"{self._te(SMSC)}",145,{length}'
            else:
                header += f",{tooa},{length}"
        return header

    def _text_entry(self, stored: Stored, index: int | None) -> list[str]:
        content = stored.content
        assert content is not None, "a message stored in PDU mode cannot be listed in text mode"
        label = f'{index},"{_STATS[stored.stat]}"' if index is not None else f'"{_STATS[stored.stat]}"'
        prefix = "+CMGL" if index is not None else "+CMGR"
        if content.reference is not None:
            return [f"{prefix}: {label},{self._report_fields(content)}"]
        oa = self._te(content.address)
        header = self._deliver_header(content, full=index is None)
        return [f'{prefix}: {label},"{oa}","",{header}', self._data(content)]

    def _text_cmgl(self, args: str) -> list[str]:
        wanted = args.strip('"').upper()
        stats = {name: stat for stat, name in _STATS.items()} | {"ALL": StatusOf.ALL}
        if wanted not in stats:
            raise _Fail(302)  # a PDU-mode number: text mode lists by name
        lines = []
        for index, stored in self.memories.listing(self.read_memory, stats[wanted]):
            lines += self._text_entry(stored, index)
            if stored.stat == StatusOf.UNREAD:
                stored.stat = StatusOf.READ
        return [*lines, "OK"]

    def _text_cmgr(self, stored: Stored) -> list[str]:
        lines = self._text_entry(stored, None)
        stored.stat = StatusOf.READ if stored.stat == StatusOf.UNREAD else stored.stat
        return [*lines, "OK"]
