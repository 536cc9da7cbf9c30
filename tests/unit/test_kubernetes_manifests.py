"""deploy/kubernetes: every manifest is valid for the Kubernetes API (strict: no field the
schema does not know), offline, from the oldest version docs/deploy.md supports to the newest
the validator knows; the kustomization lists them all; settings, probes and ports are ones
simrelay has."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from simrelay.api.routes import ops
from simrelay.config import Settings

ROOT = Path(__file__).parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
KUSTOMIZATION = "kustomization.yaml"
OLDEST = "1.27.0"
"""The oldest Kubernetes docs/deploy.md names; the newest is the validator's latest."""


def manifests() -> list[Path]:
    return sorted(path for path in MANIFESTS.glob("*.yaml") if path.name != KUSTOMIZATION)


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def pod_spec(name: str) -> dict[str, Any]:
    (doc,) = documents(MANIFESTS / name)
    spec: dict[str, Any] = doc["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize("version", [OLDEST, kubernetes_validate.latest_version()])
@pytest.mark.parametrize("path", manifests(), ids=lambda path: path.name)
def test_manifest_is_valid_for_the_kubernetes_api(path: Path, version: str) -> None:
    for doc in documents(path):
        kubernetes_validate.validate(doc, version, strict=True)


def test_a_misspelt_field_is_refused() -> None:
    """The check above can fail: strict validation refuses a field the API does not have."""
    (doc,) = documents(MANIFESTS / "deployment.yaml")
    container = doc["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, OLDEST, strict=True)


def test_kustomization_applies_every_manifest() -> None:
    kustomization = yaml.safe_load((MANIFESTS / KUSTOMIZATION).read_text())
    assert sorted(kustomization["resources"]) == [path.name for path in manifests()]


def test_every_setting_named_is_one_simrelay_reads() -> None:
    known = {f"SIMRELAY_{name.upper()}" for name in Settings.model_fields}
    for name in ("secret.yaml", "configmap.yaml"):
        (doc,) = documents(MANIFESTS / name)
        values = doc.get("stringData") or doc["data"]
        assert set(values) <= known, f"{name}: {set(values) - known}"


def test_the_server_probes_ask_simrelays_health_endpoints_on_its_port() -> None:
    (container,) = pod_spec("deployment.yaml")["containers"]
    paths = {route.path for route in ops.ROUTES}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz" in paths
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz" in paths
    (port,) = container["ports"]
    assert container["args"] == ["serve", "--host", "0.0.0.0", "--port", str(port["containerPort"])]
    assert f"EXPOSE {port['containerPort']}" in (ROOT / "Dockerfile").read_text()


def test_pods_run_as_the_images_user_and_outlast_the_graceful_shutdown() -> None:
    uid = re.search(r"--uid (\d+)", (ROOT / "Dockerfile").read_text())
    assert uid is not None
    for name in ("deployment.yaml", "migrate-job.yaml"):
        spec = pod_spec(name)
        assert spec["securityContext"]["runAsUser"] == int(uid.group(1))
        assert spec["securityContext"]["runAsNonRoot"] is True
    # uvicorn gives requests in flight 30 s (cli/serve.py); the preStop pause comes first.
    spec = pod_spec("deployment.yaml")
    assert spec["terminationGracePeriodSeconds"] > 30 + 5
