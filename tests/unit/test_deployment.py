"""The Kubernetes manifests: every service deployed with probes, limits and its own credentials,
and its own RabbitMQ user with the permissions tools.bus derives from the catalogue."""

from pathlib import Path

import pytest
import yaml

from tools import bus
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


def secret_env(service):
    container = manifests(service)["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"]
            if "valueFrom" in e}


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_checks_tokens_but_only_the_grid_service_can_sign_them(service):
    env = secret_env(service)
    assert env["AUTH_PUBLIC_KEYS"] == "grid-governance-auth"
    assert ("AUTH_SIGNING_KEY" in env) == (service == "grid")


@pytest.mark.parametrize("service", SERVICES)
def test_only_the_petition_service_holds_the_key_to_reporters_contacts(service):
    assert ("SEAL_KEYS" in secret_env(service)) == (service == "petition")


def broker_users():
    """The Topology Operator's resources, by (kind, name)."""
    documents = yaml.safe_load_all((K8S / "rabbitmq-users.yaml").read_text())
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in documents}


@pytest.mark.parametrize("service", SERVICES)
def test_each_services_broker_permissions_are_those_tools_bus_derives(service):
    permission = broker_users()[("Permission", service)]["spec"]
    assert permission["permissions"] == bus.service_permissions(service)._asdict()


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_connects_as_the_broker_user_made_from_its_own_secret(service):
    user = broker_users()[("User", service)]["spec"]
    permission = broker_users()[("Permission", service)]["spec"]
    container = manifests(service)["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    amqp_uri = {e["name"]: e for e in container["env"]}["AMQP_URI"]["valueFrom"]["secretKeyRef"]
    assert user["importCredentialsSecret"]["name"] == amqp_uri["name"] == f"grid-governance-{service}"
    assert permission["userReference"]["name"] == service
    assert not user.get("tags")  # no management UI or HTTP API


def test_there_is_one_broker_user_per_service_and_no_other():
    assert set(broker_users()) == {(kind, service) for kind in ("User", "Permission")
                                   for service in SERVICES}


def test_kustomization_lists_every_manifest():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
