"""The SDK's public surface: `simrelay.client.__all__` is exactly the public list, the rest is
private, and importing it loads no server module (it depends on httpx only)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import types
from pathlib import Path

import simrelay.client

PUBLIC = [
    "AsyncClient",
    "Client",
    "CreatedWebhook",
    "Delivery",
    "Device",
    "DeviceSettings",
    "OptOut",
    "Page",
    "ReceivedSms",
    "Sim",
    "SimrelayError",
    "Sms",
    "SmsStatus",
    "StatusChange",
    "Ussd",
    "Webhook",
    "WebhookVerificationError",
    "verify_webhook",
]
SERVER_LIBRARIES = {
    "pydantic",
    "pydantic_settings",
    "sqlalchemy",
    "starlette",
    "structlog",
    "orjson",
    "typer",
}
PACKAGE = Path(simrelay.client.__file__).parent


def test_all_is_exactly_the_public_list() -> None:
    assert simrelay.client.__all__ == PUBLIC
    for name in PUBLIC:
        assert getattr(simrelay.client, name).__module__.startswith("simrelay.client._")


def test_every_other_member_is_private_or_a_module() -> None:
    for name, member in vars(simrelay.client).items():
        if name not in PUBLIC:
            assert name.startswith("_") or isinstance(member, types.ModuleType), name


def test_the_modules_behind_it_are_private() -> None:
    modules = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert modules[0] == "__init__.py"
    assert all(name.startswith("_") for name in modules)


def test_importing_it_loads_no_other_simrelay_module_nor_a_server_library() -> None:
    code = "import json, sys, simrelay.client; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(done.stdout)
    ours = {name for name in loaded if name.split(".")[0] == "simrelay"}
    assert ours - {"simrelay", "simrelay.client"} == {
        f"simrelay.client.{path.stem}" for path in PACKAGE.glob("_*.py") if path.stem != "__init__"
    }
    assert not SERVER_LIBRARIES & {name.split(".")[0] for name in loaded}


def test_its_source_imports_only_itself_httpx_and_the_standard_library() -> None:
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                allowed = name.startswith("simrelay.client") or top in {"httpx", "__future__"}
                assert allowed or top in sys.stdlib_module_names, f"{path.name} imports {name}"
