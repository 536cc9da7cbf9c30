"""The SMPP page's sender mappings through HTTP on both databases: per SMPP user, source_addr →
one of the account's devices (and SIM), listed, added (replacing), deleted after a question;
every refusal a clear form error, never a 500; no CSRF token, no change; another account's
users and devices out of reach (404, nothing changed)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from simrelay.accounts import login
from simrelay.config import Settings
from simrelay.devices import service as devices
from simrelay.smpp import routes, senders, users
from simrelay.smpp.models import SmppSender
from simrelay.storage.database import Database
from tests.conftest import running_client
from tests.integration.test_panel_smpp import EMAIL, PASSWORD, Panel, signed_in

pytestmark = pytest.mark.integration


@pytest.fixture
async def me(db: Database) -> str:
    """The signed-in account (test_panel_smpp's `signed_in` signs in as EMAIL)."""
    account_id = await login.sign_up(db, EMAIL, PASSWORD)
    assert account_id
    return account_id


@pytest.fixture
async def other(db: Database) -> str:
    account_id = await login.sign_up(db, "someone-else@example.com", PASSWORD)
    assert account_id
    return account_id


@pytest.fixture
async def panel(settings: Settings, me: str) -> AsyncIterator[Panel]:
    async with running_client(settings) as client:
        yield await signed_in(client)


@pytest.fixture
async def billing(db: Database, me: str) -> str:
    """An SMPP user of the account; its id."""
    return await users.create_user(db, account_id=me, system_id="billing", password="pw")


@pytest.fixture
async def phone(db: Database, me: str) -> str:
    return await devices.add_device(db, account_id=me, name="Office phone", active=True)


async def mapped(db: Database) -> list[tuple[str, str, int | None]]:
    """Every mapping on the server: (source_addr, device_id, to_sim)."""
    query = select(SmppSender.source_addr, SmppSender.device_id, SmppSender.to_sim)
    rows = await db.read(lambda conn: conn.execute(query).all())
    return sorted((row.source_addr, row.device_id, row.to_sim) for row in rows)


def section(page: httpx.Response, user_id: str) -> str:
    found = re.search(rf'<section class="card senders" id="senders-{user_id}".*?</section>', page.text, re.S)
    assert found is not None, f"no senders section of {user_id}"
    return found.group(0)


def listed(page: httpx.Response, user_id: str) -> list[str]:
    return re.findall(r'<tr data-source-addr="([^"]*)">', section(page, user_id))


async def add(panel: Panel, user_id: str, form: dict[str, str]) -> httpx.Response:
    await panel.get("/panel/smpp")
    return await panel.post(f"/panel/smpp/{user_id}/senders", form)


async def test_each_user_lists_its_mappings_and_offers_the_accounts_devices(
    panel: Panel,
    db: Database,
    me: str,
    other: str,
    billing: str,
    phone: str,
) -> None:
    otp = await users.create_user(db, account_id=me, system_id="otp", password="pw")
    theirs = await devices.add_device(db, account_id=other, name="Their phone", active=True)
    route = await routes.create_route(
        db,
        account_id=me,
        name="Carrier",
        settings=routes.RouteSettings(host="127.0.0.1", port=2775, system_id="acme", password="pw"),
    )
    await senders.add_sender(
        db, account_id=me, system_id="billing", source_addr="Shop", device_id=phone, to_sim=1
    )
    await senders.add_sender(
        db, account_id=me, system_id="billing", source_addr="79990001122", device_id=route
    )
    page = await panel.get("/panel/smpp")
    billing_part = section(page, billing)
    assert listed(page, billing) == ["79990001122", "Shop"]
    assert re.search(r"<code>Shop</code></td>\s*<td>Office phone</td>\s*<td>1</td>", billing_part)
    assert re.search(r"<code>79990001122</code></td>\s*<td>Carrier</td>\s*<td>default SIM</td>", billing_part)
    assert listed(page, otp) == [] and "No mappings." in section(page, otp)
    options = re.findall(r'<option value="([0-9a-f]{24})">([^<]*)</option>', billing_part)
    assert sorted(options) == sorted([(phone, "Office phone (native)"), (route, "Carrier (smpp)")])
    assert theirs not in page.text and "Their phone" not in page.text


async def test_without_devices_there_is_nothing_to_map_to(panel: Panel, billing: str) -> None:
    page = await panel.get("/panel/smpp")
    part = section(page, billing)
    assert "Pair a device or create a route first." in part and "<select" not in part


async def test_a_mapping_is_added_replaced_and_listed(
    panel: Panel,
    db: Database,
    me: str,
    billing: str,
    phone: str,
) -> None:
    second = await devices.add_device(db, account_id=me, name="Second", active=True)
    added = await add(panel, billing, {"source_addr": "Shop", "device_id": phone, "to_sim": "0"})
    assert added.status_code == 200
    assert 'id="sender-added"' in added.text and "<code>Shop</code>" in added.text
    assert await mapped(db) == [("Shop", phone, 0)]
    assert listed(added, billing) == ["Shop"]
    replaced = await add(panel, billing, {"source_addr": "Shop", "device_id": second, "to_sim": ""})
    assert replaced.status_code == 200
    assert await mapped(db) == [("Shop", second, None)]  # an empty SIM: the device's default
    assert await senders.list_senders(db, account_id=me, system_id="billing") == [
        ("Shop", senders.Target(second, None))
    ]
    any_sim = await add(panel, billing, {"source_addr": "Bank", "device_id": phone, "to_sim": "-1"})
    assert any_sim.status_code == 200 and "any SIM" in section(any_sim, billing)
    assert await mapped(db) == [("Bank", phone, -1), ("Shop", second, None)]


REFUSED = [
    pytest.param({"source_addr": ""}, 400, "The source_addr must be 1 to 20", id="source-empty"),
    pytest.param({"source_addr": "x" * 21}, 400, "The source_addr must be 1 to 20", id="source-long"),
    pytest.param({"source_addr": "Shöp"}, 400, "The source_addr must be 1 to 20", id="source-ascii"),
    pytest.param({"to_sim": "first"}, 400, "The SIM must be empty, -2, -1 or a slot", id="sim-text"),
    pytest.param({"to_sim": "-3"}, 400, "The SIM must be empty, -2, -1 or a slot", id="sim-low"),
    pytest.param({"to_sim": str(2**31)}, 400, "The SIM must be empty, -2, -1 or a slot", id="sim-high"),
    pytest.param({"device_id": "0123456789abcdef01234567"}, 404, "No such device", id="device-unknown"),
    pytest.param({"device_id": ""}, 404, "No such device", id="device-empty"),
]


@pytest.mark.parametrize(("changes", "status", "message"), REFUSED)
async def test_values_the_cli_refuses_are_a_form_error(
    panel: Panel, db: Database, billing: str, phone: str, changes: dict[str, str], status: int, message: str
) -> None:
    form = {"source_addr": "Shop", "device_id": phone, "to_sim": "", **changes}
    refused = await add(panel, billing, form)
    assert refused.status_code == status
    assert f'<p class="error" role="alert">{message}' in refused.text
    assert await mapped(db) == [] and listed(refused, billing) == []


async def test_the_refusal_is_in_russian_too(panel: Panel, db: Database, billing: str, phone: str) -> None:
    panel.client.headers["accept-language"] = "ru"
    refused = await add(panel, billing, {"source_addr": "x" * 21, "device_id": phone})
    assert refused.status_code == 400
    assert "source_addr должен состоять из 1–20 печатных символов ASCII" in refused.text
    assert await mapped(db) == []


async def test_delete_asks_first_then_the_source_addr_goes_anywhere(
    panel: Panel,
    db: Database,
    me: str,
    billing: str,
    phone: str,
) -> None:
    await senders.add_sender(db, account_id=me, system_id="billing", source_addr="Shop", device_id=phone)
    await senders.add_sender(db, account_id=me, system_id="billing", source_addr="Bank", device_id=phone)
    page = await panel.get("/panel/smpp")
    assert re.search(
        r'<details class="confirm">\s*<summary>[^<]+</summary>\s*<form method="post" '
        rf'action="/panel/smpp/{billing}/senders/delete">\s*<input type="hidden" name="csrf_token"[^>]*>\s*'
        r'<input type="hidden" name="source_addr" value="Shop">',
        section(page, billing),
    )
    deleted = await panel.post(f"/panel/smpp/{billing}/senders/delete", {"source_addr": "Shop"})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/panel/smpp?unmapped=1"
    shown = await panel.get(deleted.headers["location"])
    assert 'id="sender-deleted"' in shown.text and listed(shown, billing) == ["Bank"]
    assert await mapped(db) == [("Bank", phone, None)]
    again = await panel.post(f"/panel/smpp/{billing}/senders/delete", {"source_addr": "Shop"})
    assert again.status_code == 404 and "No such mapping" in again.text
    assert await mapped(db) == [("Bank", phone, None)]


async def test_deleting_the_user_deletes_its_mappings(
    panel: Panel,
    db: Database,
    me: str,
    billing: str,
    phone: str,
) -> None:
    await senders.add_sender(db, account_id=me, system_id="billing", source_addr="Shop", device_id=phone)
    await panel.get("/panel/smpp")
    deleted = await panel.post(f"/panel/smpp/{billing}", {"action": "delete"})
    assert deleted.status_code == 303
    assert await mapped(db) == []
    assert 'id="senders-' not in (await panel.get("/panel/smpp")).text


async def test_a_post_without_its_csrf_token_changes_nothing(
    panel: Panel,
    db: Database,
    me: str,
    billing: str,
    phone: str,
) -> None:
    await senders.add_sender(db, account_id=me, system_id="billing", source_addr="Shop", device_id=phone)
    await panel.get("/panel/smpp")
    for token in ("", "guess"):
        made = await panel.post(
            f"/panel/smpp/{billing}/senders", {"source_addr": "Forged", "device_id": phone}, csrf=token
        )
        deleted = await panel.post(
            f"/panel/smpp/{billing}/senders/delete", {"source_addr": "Shop"}, csrf=token
        )
        assert made.status_code == deleted.status_code == 403
    assert await mapped(db) == [("Shop", phone, None)]


async def test_another_accounts_users_and_devices_are_out_of_reach(
    panel: Panel,
    db: Database,
    me: str,
    other: str,
    billing: str,
    phone: str,
) -> None:
    their_user = await users.create_user(db, account_id=other, system_id="theirs", password="pw")
    their_phone = await devices.add_device(db, account_id=other, name="Their phone", active=True)
    await senders.add_sender(
        db, account_id=other, system_id="theirs", source_addr="Them", device_id=their_phone
    )
    before = await mapped(db)
    await panel.get("/panel/smpp")
    # Their user, with my device or theirs: no such user.
    for device_id in (phone, their_phone):
        forged = await panel.post(
            f"/panel/smpp/{their_user}/senders", {"source_addr": "Mine", "device_id": device_id}
        )
        assert forged.status_code == 404 and "No such SMPP user" in forged.text
    forged_delete = await panel.post(f"/panel/smpp/{their_user}/senders/delete", {"source_addr": "Them"})
    assert forged_delete.status_code == 404 and "No such SMPP user" in forged_delete.text
    # My user, their device: no such device.
    forged = await panel.post(
        f"/panel/smpp/{billing}/senders", {"source_addr": "Mine", "device_id": their_phone}
    )
    assert forged.status_code == 404 and "No such device" in forged.text
    # By system_id instead of id: not how the page names a user.
    by_name = await panel.post("/panel/smpp/theirs/senders/delete", {"source_addr": "Them"})
    assert by_name.status_code == 404
    assert await mapped(db) == before
    page = await panel.get("/panel/smpp")
    assert "Them" not in page.text and their_user not in page.text


async def test_a_source_addr_with_markup_is_shown_as_text(
    panel: Panel, db: Database, billing: str, phone: str
) -> None:
    added = await add(panel, billing, {"source_addr": '<i>"&', "device_id": phone})
    assert added.status_code == 200
    assert "<i>" not in added.text and "<code>&lt;i&gt;&#34;&amp;</code>" in added.text
    assert listed(added, billing) == ["&lt;i&gt;&#34;&amp;"]
    deleted = await panel.post(f"/panel/smpp/{billing}/senders/delete", {"source_addr": '<i>"&'})
    assert deleted.status_code == 303 and await mapped(db) == []
