"""Kannel (Debian `kannel`: bearerbox + smsbox) with simrelay as its SMSC: one `smsc = smpp`
group in transceiver mode, and smsbox's sendsms HTTP interface to submit through it.

The configuration keys are those of the Kannel 1.4 user guide (doc/userguide/userguide.xml,
"SMSC configuration" -> "SMPP"; "SMSBox configuration" -> "sendsms-user").
"""

from __future__ import annotations

import shutil
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.integration.smpp.peers import (
    FAILING_ID,
    PASSWORD,
    SYSTEM_ID,
    Processes,
    free_ports,
    listening,
    missing_peer,
    wait_until,
)

BEARERBOX, SMSBOX = "/usr/sbin/bearerbox", "/usr/sbin/smsbox"
USER, USER_PASSWORD = "tester", "tester"


def require_kannel() -> None:
    if not (shutil.which(BEARERBOX) and shutil.which(SMSBOX)):
        missing_peer("Kannel", "apt-get install kannel")


def smsc_group(smsc_id: str, username: str, routing: str, smpp_port: int, log: Path) -> str:
    return f"""group = smsc
smsc = smpp
smsc-id = {smsc_id}
{routing}
host = 127.0.0.1
port = {smpp_port}
transceiver-mode = true
smsc-username = {username}
smsc-password = {PASSWORD}
system-type = ""
source-addr-ton = 5
source-addr-npi = 0
dest-addr-ton = 1
dest-addr-npi = 1
enquire-link-interval = 30
reconnect-delay = 1
log-file = "{log}"
log-level = 1
"""


def kannel_conf(*, work: Path, smpp_port: int, admin: int, box: int, sendsms: int, mo_url: str) -> str:
    return f"""
group = core
admin-port = {admin}
admin-interface = 127.0.0.1
admin-password = admin
smsbox-port = {box}
box-allow-ip = 127.0.0.1
log-file = "{work}/bearerbox.log"
log-level = 1
access-log = "{work}/access.log"
dlr-storage = internal

# simrelay as the SMSC: one SMPP 3.4 transceiver session per account
{smsc_group("simrelay", SYSTEM_ID, f"denied-smsc-id = {FAILING_ID}", smpp_port, work / "smsc.log")}
# The account whose phone fails: only for messages sent with smsc=failing
{smsc_group(FAILING_ID, FAILING_ID, f"allowed-smsc-id = {FAILING_ID}", smpp_port, work / "smsc-failing.log")}
group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
global-sender = Shop
log-file = "{work}/smsbox.log"
log-level = 1
# MO in UCS-2 reaches the get-url as UTF-8
mo-recode = true

group = sendsms-user
username = {USER}
password = {USER_PASSWORD}
max-messages = 10
concatenation = true

# Every MO to one URL; max-messages 0: the URL's answer is not sent back as a reply SMS
group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "{mo_url}?from=%p&to=%P&text=%a&coding=%c&smsc=%i"
"""


@dataclass
class Kannel:
    processes: Processes
    admin_port: int
    sendsms_port: int

    def status(self) -> str:
        url = f"http://127.0.0.1:{self.admin_port}/status.txt?password=admin"
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(response.read().decode(errors="replace"))

    def online(self) -> bool:
        """True once both smsc groups' sessions are bound (the status page says `online`)."""
        try:
            return self.status().split("SMSC connections:", 1)[-1].count("online") == 2
        except OSError:
            return False

    def sendsms(self, to: str, text: str, **params: str) -> tuple[int, str]:
        """GET /cgi-bin/sendsms; (HTTP status, body). Kannel answers 202 `0: Accepted for delivery`."""
        query = urllib.parse.urlencode(
            {"username": USER, "password": USER_PASSWORD, "to": to, "text": text, **params}
        )
        url = f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms?{query}"
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")


def start_kannel(work: Path, *, smpp_port: int, mo_url: str) -> tuple[Kannel, Processes]:
    """bearerbox and smsbox on free ports, bound to simrelay; the caller stops the Processes."""
    work.mkdir(parents=True, exist_ok=True)
    admin, box, sendsms = free_ports(3, smpp_port)
    conf = work / "kannel.conf"
    conf.write_text(
        kannel_conf(work=work, smpp_port=smpp_port, admin=admin, box=box, sendsms=sendsms, mo_url=mo_url)
    )
    processes = Processes(work)
    kannel = Kannel(processes, admin, sendsms)
    try:
        processes.start("bearerbox", [BEARERBOX, "-v", "1", str(conf)])
        wait_until(lambda: listening(box) or processes.check_alive(), "bearerbox listening")
        processes.start("smsbox", [SMSBOX, "-v", "1", str(conf)])
        wait_until(lambda: listening(sendsms) or processes.check_alive(), "smsbox listening")
        wait_until(lambda: kannel.online() or processes.check_alive(), "Kannel bound to simrelay")
    except BaseException:
        processes.stop()
        raise
    return kannel, processes
