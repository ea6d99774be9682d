"""The Kubernetes manifests: every service deployed with probes, limits and its own credentials."""

from pathlib import Path

import pytest
import yaml

from tools.platform import SERVICES

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"


def manifests(service):
    return {doc["kind"]: doc for doc in yaml.safe_load_all((K8S / f"{service}.yaml").read_text())}


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_runs_as_its_own_deployment_with_probes_and_limits(service):
    deployment = manifests(service)["Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["SERVICE"]["value"] == service
    assert env["SERVICE_CLASS"]["value"] == SERVICES[service]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["limits"]["memory"]
    assert (env["MONGO_URI"]["valueFrom"]["secretKeyRef"]["name"]
            == f"grid-governance-{service}")


def test_kustomization_lists_every_manifest():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
