"""The Kubernetes deployment: both overlays build, every manifest is valid against the
Kubernetes and operator schemas, and the rules the platform is deployed by hold: probes, limits
and a locked-down container for every pod; a network policy, a disruption budget, an autoscaler
(prod) and a ServiceMonitor for every service; its own database and broker user; quorum queues
that lose nothing. tools.k8s builds kustomize on first use, so this needs Go the first time."""

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shared.broker import DEAD_LETTERS, queue_name, retry_queue
from shared.catalogue import CATALOGUE
from tools import bus, k8s
from tools.platform import CLASSES, SERVICES

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "k8s" / "base"
OVERLAYS = ("dev", "prod")
NAMESPACE = "grid-governance"
# Every process that runs as a Deployment: the four services, and the webhook bridge (which
# reads the events as an outside subscriber does, so it has no catalogue-derived broker user).
PROCESSES = CLASSES

# Every Secret the manifests read, with its keys: the README's Deploying section says how to
# make each. A service's holds its broker user (username, password, amqp-uri) and its database
# user's password and URI.
SECRETS = {
    **{f"grid-governance-{s}": {"username", "password", "amqp-uri", "mongo-uri", "mongo-password"}
       | ({"seal-keys"} if s == "petition" else set()) for s in PROCESSES},
    "grid-governance-auth": {"public-keys"},
    "grid-governance-auth-signing": {"signing-key"},
    "grid-governance-monitoring": {"token"},
    "grid-governance-autoscaler": {"username", "password"},
    "grid-governance-tls": {"tls.crt", "tls.key"},
}


@pytest.fixture(scope="module")
def built():
    return {overlay: k8s.build(overlay) for overlay in OVERLAYS}


def of(documents, kind, name=None):
    found = [d for d in documents if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    if name is not None:
        assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
        return found[0]
    return found


def container(documents, service):
    return of(documents, "Deployment", service)["spec"]["template"]["spec"]["containers"][0]


def env(documents, service):
    return {e["name"]: e for e in container(documents, service)["env"]}


def secret_env(documents, service):
    return {name: e["valueFrom"]["secretKeyRef"]["name"] for name, e in env(documents, service).items()
            if "valueFrom" in e}


# Both overlays build, and all they hold is valid.

@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_manifest_is_valid_against_the_kubernetes_and_operator_schemas(built, overlay):
    problems = [problem for doc in built[overlay] for problem in k8s.problems(doc)]
    assert not problems, "\n".join(problems)


def test_the_validation_refuses_an_unknown_field_and_an_unknown_kind(built):
    deployment = yaml.safe_load(yaml.safe_dump(of(built["prod"], "Deployment", "grid")))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    vhost = yaml.safe_load(yaml.safe_dump(of(built["prod"], "Vhost", NAMESPACE)))
    vhost["spec"]["defaultQueuetype"] = "quorum"
    assert k8s.problems(deployment) and k8s.problems(vhost)
    assert k8s.problems({"apiVersion": "example.org/v1", "kind": "Thing", "metadata": {"name": "x"}})


def test_the_base_kustomization_lists_every_manifest_beside_it():
    listed = set(yaml.safe_load((BASE / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml"}


# Every pod: probes, requests and limits, non-root, read-only.

@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_both_probes_requests_limits_and_a_locked_down_container(built, overlay):
    deployments = of(built[overlay], "Deployment")
    assert {d["metadata"]["name"] for d in deployments} == set(PROCESSES)
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        for c in pod["containers"]:
            assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
            for amount in ("requests", "limits"):
                assert set(c["resources"][amount]) == {"cpu", "memory"}, (c["name"], amount)
            assert c["securityContext"]["readOnlyRootFilesystem"] is True
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("service", PROCESSES)
def test_each_service_runs_as_its_own_deployment_of_the_one_image(built, service):
    for documents in built.values():
        variables = env(documents, service)
        assert variables["SERVICE"]["value"] == service
        assert variables["SERVICE_CLASS"]["value"] == PROCESSES[service]
        assert variables["MONGO_URI"]["valueFrom"]["secretKeyRef"]["name"] == f"grid-governance-{service}"
        assert container(documents, service)["envFrom"] == [{"configMapRef": {"name": NAMESPACE}}]
    assert len({container(built["prod"], s)["image"] for s in PROCESSES}) == 1


@pytest.mark.parametrize("service", PROCESSES)
def test_every_service_checks_tokens_but_only_the_grid_service_can_sign_them(built, service):
    for documents in built.values():
        variables = secret_env(documents, service)
        assert variables["AUTH_PUBLIC_KEYS"] == "grid-governance-auth"
        assert ("AUTH_SIGNING_KEY" in variables) == (service == "grid")


@pytest.mark.parametrize("service", PROCESSES)
def test_only_the_petition_service_holds_the_key_to_reporters_contacts(built, service):
    for documents in built.values():
        assert ("SEAL_KEYS" in secret_env(documents, service)) == (service == "petition")


def secret_references(node):
    """(Secret, key) for every Secret a manifest reads, wherever the kind keeps the reference;
    key None where the reader takes username and password."""
    if isinstance(node, list):
        return [ref for item in node for ref in secret_references(item)]
    if not isinstance(node, dict):
        return []
    found = []
    for field, value in node.items():
        if field in ("secretKeyRef", "credentials", "passwordSecretRef"):
            found.append((value["name"], value.get("key", "password")))
        elif field == "secretTargetRef":
            found += [(ref["name"], ref["key"]) for ref in value]
        elif field == "importCredentialsSecret":
            found += [(value["name"], "username"), (value["name"], "password")]
        elif field == "tls" and isinstance(value, list):
            found += [(entry["secretName"], key) for entry in value for key in ("tls.crt", "tls.key")]
        else:
            found += secret_references(value)
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_secret_the_manifests_read_is_one_the_deploying_section_lists(built, overlay):
    references = set(secret_references(built[overlay]))
    unlisted = {(name, key) for name, key in references if key not in SECRETS.get(name, ())}
    assert not unlisted
    assert {name for name, _ in references} >= {f"grid-governance-{s}" for s in SERVICES}


# Every service: network policy, disruption budget, autoscaler, ServiceMonitor.

def pods_of(selector, documents):
    """The names of the Deployments whose pods a label selector picks."""
    return {d["metadata"]["name"] for d in of(documents, "Deployment")
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()}


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", PROCESSES)
def test_every_service_has_a_network_policy_disruption_budget_and_service_monitor(built, overlay, service):
    documents = built[overlay]
    policy = of(documents, "NetworkPolicy", service)
    assert pods_of(policy["spec"]["podSelector"]["matchLabels"], documents) == {service}
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    budget = of(documents, "PodDisruptionBudget", service)
    assert pods_of(budget["spec"]["selector"]["matchLabels"], documents) == {service}
    monitor = of(documents, "ServiceMonitor", service)
    target = of(documents, "Service", service)
    assert monitor["spec"]["selector"]["matchLabels"].items() <= target["metadata"]["labels"].items()


@pytest.mark.parametrize("service", PROCESSES)
def test_in_prod_every_service_is_autoscaled_from_two_pods_and_keeps_one_through_disruptions(built, service):
    documents = built["prod"]
    scaler = of(documents, "ScaledObject", service)
    assert scaler["spec"]["scaleTargetRef"] == {"name": service}
    assert 2 <= scaler["spec"]["minReplicaCount"] < scaler["spec"]["maxReplicaCount"]
    # A replica count in the Deployment would undo the autoscaler's at every apply.
    assert "replicas" not in of(documents, "Deployment", service)["spec"]
    assert of(documents, "PodDisruptionBudget", service)["spec"] == {
        "minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": service}}}


@pytest.mark.parametrize("service", PROCESSES)
def test_in_dev_every_service_runs_one_pod_that_a_node_drain_may_move(built, service):
    documents = built["dev"]
    assert of(documents, "Deployment", service)["spec"]["replicas"] == 1
    assert not of(documents, "ScaledObject") and not of(documents, "TriggerAuthentication")
    assert of(documents, "PodDisruptionBudget", service)["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("service", SERVICES)
def test_each_autoscaler_counts_its_services_handler_queues_and_not_their_retries(built, service):
    trigger = next(t for t in of(built["prod"], "ScaledObject", service)["spec"]["triggers"]
                   if t["type"] == "rabbitmq")["metadata"]
    pattern = re.compile(trigger["queueName"])
    mine = bus.handler_queues(service, CATALOGUE)
    others = [q for s in SERVICES if s != service for q in bus.handler_queues(s, CATALOGUE)]
    assert mine and all(pattern.search(q) for q in mine)
    assert not any(pattern.search(retry_queue(q, 0).name) for q in mine)
    assert not any(pattern.search(q) for q in [*others, DEAD_LETTERS])
    assert trigger["vhostName"] == bus.K8S_VHOST
    assert trigger["host"].startswith(f"http://rabbitmq.{NAMESPACE}.svc:")


def test_the_autoscaler_reads_queue_lengths_as_the_broker_user_that_may_do_nothing_else(built):
    documents = built["prod"]
    refs = of(documents, "TriggerAuthentication", "rabbitmq-queue-lengths")["spec"]["secretTargetRef"]
    assert {(r["parameter"], r["name"]) for r in refs} == {
        ("username", "grid-governance-autoscaler"), ("password", "grid-governance-autoscaler")}
    user = of(documents, "User", bus.AUTOSCALER)["spec"]
    assert user["importCredentialsSecret"]["name"] == "grid-governance-autoscaler"
    assert user["tags"] == ["management"]
    assert of(documents, "Permission", bus.AUTOSCALER)["spec"]["permissions"] == {
        "configure": "^$", "write": "^$", "read": "^$"}


# Who may reach whom.

RABBITMQ_PODS = {"app.kubernetes.io/name": "rabbitmq", "app.kubernetes.io/component": "rabbitmq"}
DNS = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
       "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}


def database_pods(service):
    # The MongoDB Community Operator labels a replica set's pods app: <name>-svc.
    return {"app": f"{service}-mongodb-svc"}


def rules(rules_):
    """Each rule as (peers, ports), comparable whatever the order."""
    return {(yaml.safe_dump(r.get("to", r.get("from")), sort_keys=True),
             yaml.safe_dump(r["ports"], sort_keys=True)) for r in rules_}


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_reaches_only_rabbitmq_its_own_database_and_dns(built, service):
    for documents in built.values():
        egress = of(documents, "NetworkPolicy", service)["spec"]["egress"]
        assert rules(egress) == rules([
            {"to": [{"podSelector": {"matchLabels": RABBITMQ_PODS}}],
             "ports": [{"port": 5672, "protocol": "TCP"}]},
            {"to": [{"podSelector": {"matchLabels": database_pods(service)}}],
             "ports": [{"port": 27017, "protocol": "TCP"}]},
            {"to": [DNS], "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
        ])


@pytest.mark.parametrize("service", PROCESSES)
def test_a_service_accepts_http_only_from_the_ingress_controller_and_prometheus(built, service):
    for documents in built.values():
        [rule] = of(documents, "NetworkPolicy", service)["spec"]["ingress"]
        assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
        assert {(p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
                 p["podSelector"]["matchLabels"]["app.kubernetes.io/name"]) for p in rule["from"]} == {
            ("ingress-nginx", "ingress-nginx"), ("monitoring", "prometheus")}


@pytest.mark.parametrize("service", PROCESSES)
def test_a_services_database_accepts_only_that_service_and_its_own_members(built, service):
    for documents in built.values():
        policy = of(documents, "NetworkPolicy", f"{service}-mongodb")["spec"]
        assert policy["podSelector"]["matchLabels"] == database_pods(service)
        [rule] = policy["ingress"]
        assert [p["podSelector"]["matchLabels"] for p in rule["from"]] == [
            {"app.kubernetes.io/name": service}, database_pods(service)]
        assert rule["ports"] == [{"port": 27017, "protocol": "TCP"}]


# The databases: one replica set per service, one user that owns only its database.

@pytest.mark.parametrize("service", PROCESSES)
def test_each_service_has_its_own_replica_set_whose_one_user_owns_only_its_database(built, service):
    for overlay, documents in built.items():
        database = of(documents, "MongoDBCommunity", f"{service}-mongodb")["spec"]
        assert database["type"] == "ReplicaSet"
        assert database["members"] == (3 if overlay == "prod" else 1)
        [user] = database["users"]
        prefix = of(documents, "ConfigMap", NAMESPACE)["data"]["DATABASE_PREFIX"]
        assert user["name"] == service
        assert user["roles"] == [{"name": "dbOwner", "db": f"{prefix}{service}"}]
        assert user["passwordSecretRef"] == {"name": f"grid-governance-{service}", "key": "mongo-password"}
        assert database["security"]["authentication"]["modes"] == ["SCRAM"]


# The broker: quorum queues on a virtual host of their own, users derived from the catalogue.

def test_rabbitmq_runs_three_nodes_in_prod_on_a_pinned_image(built):
    for overlay, documents in built.items():
        cluster = of(documents, "RabbitmqCluster", "rabbitmq")["spec"]
        assert cluster["replicas"] == (3 if overlay == "prod" else 1)
        assert re.fullmatch(r"rabbitmq:\d+\.\d+\.\d+-management", cluster["image"])


def test_the_services_virtual_host_makes_quorum_queues_and_outlives_its_resource(built):
    for documents in built.values():
        vhost = of(documents, "Vhost", bus.K8S_VHOST)["spec"]
        assert vhost["name"] == bus.K8S_VHOST
        assert vhost["defaultQueueType"] == "quorum"
        assert vhost["deletionPolicy"] == "retain"
        assert {p["spec"]["vhost"] for p in of(documents, "Permission")} == {bus.K8S_VHOST}


def policy_for(policies, queue):
    """The policy RabbitMQ applies to a queue: of those whose pattern matches, the highest
    priority."""
    matching = [p["spec"] for p in policies
                if p["spec"]["applyTo"] in ("queues", "all") and re.search(p["spec"]["pattern"], queue)]
    return max(matching, key=lambda p: p["priority"], default=None)


HANDLER_QUEUES = [queue_name(e.producer, e.type, s, m) for e in CATALOGUE for s, m in e.consumers]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_queue_drops_a_message_returned_to_it_fewer_than_100000_times(built, overlay):
    policies = of(built[overlay], "Policy")
    queues = [DEAD_LETTERS, *HANDLER_QUEUES, *(retry_queue(q, n).name for q in HANDLER_QUEUES
                                              for n in range(5))]
    for queue in queues:
        assert policy_for(policies, queue)["definition"]["delivery-limit"] >= 100_000, queue
    assert {p["spec"]["vhost"] for p in policies} == {bus.K8S_VHOST}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_retry_queues_dead_letter_back_at_least_once(built, overlay):
    policies = of(built[overlay], "Policy")
    for queue in HANDLER_QUEUES:
        definition = policy_for(policies, retry_queue(queue, 4).name)["definition"]
        assert definition["dead-letter-strategy"] == "at-least-once"
        # At-least-once only takes effect with this overflow behaviour.
        assert definition["overflow"] == "reject-publish"
        assert "dead-letter-strategy" not in policy_for(policies, queue)["definition"]


def broker_users():
    """The Topology Operator's resources as committed, by (kind, name)."""
    return {(doc["kind"], doc["metadata"]["name"]): doc
            for doc in yaml.safe_load_all(bus.MANIFEST.read_text())}


def test_the_committed_broker_users_are_what_tools_bus_generates():
    assert bus.MANIFEST.read_text() == bus.manifests(), "run: python -m tools.bus k8s --write"


@pytest.mark.parametrize("service", SERVICES)
def test_each_services_broker_permissions_are_those_tools_bus_derives(service):
    permission = broker_users()[("Permission", service)]["spec"]
    assert permission["permissions"] == bus.service_permissions(service)._asdict()
    assert permission["vhost"] == bus.K8S_VHOST


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_connects_as_the_broker_user_made_from_its_own_secret(built, service):
    user = broker_users()[("User", service)]["spec"]
    permission = broker_users()[("Permission", service)]["spec"]
    amqp_uri = env(built["prod"], service)["AMQP_URI"]["valueFrom"]["secretKeyRef"]
    assert user["importCredentialsSecret"]["name"] == amqp_uri["name"] == f"grid-governance-{service}"
    assert permission["userReference"]["name"] == service
    assert not user.get("tags")  # no management UI or HTTP API


def test_there_is_one_broker_user_per_service_and_the_autoscalers_and_no_other():
    assert set(broker_users()) == {(kind, user) for kind in ("User", "Permission")
                                   for user in [*SERVICES, bus.AUTOSCALER]}


def test_the_operator_manages_the_broker_in_the_namespace_not_one_elsewhere(built):
    for documents in built.values():
        for doc in documents:
            if doc["apiVersion"].startswith("rabbitmq.com/") and doc["kind"] != "RabbitmqCluster":
                assert doc["spec"]["rabbitmqClusterReference"] == {"name": "rabbitmq"}, doc["kind"]


# Monitoring and the way in.

@pytest.mark.parametrize("service", PROCESSES)
def test_prometheus_scrapes_metrics_with_a_monitoring_token_from_a_secret(built, service):
    [endpoint] = of(built["prod"], "ServiceMonitor", service)["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["authorization"] == {
        "type": "Bearer", "credentials": {"name": "grid-governance-monitoring", "key": "token"}}
    ports = {p["name"] for p in of(built["prod"], "Service", service)["spec"]["ports"]}
    assert endpoint["port"] in ports


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_routes_each_service_on_a_host_of_its_own_at_its_own_paths(built, overlay):
    ingress = of(built[overlay], "Ingress", NAMESPACE)["spec"]
    routed = {}
    for rule in ingress["rules"]:
        [path] = rule["http"]["paths"]
        assert (path["path"], path["pathType"]) == ("/", "Prefix")
        routed[rule["host"]] = path["backend"]["service"]
    assert len(routed) == len(ingress["rules"])
    assert sorted(b["name"] for b in routed.values()) == sorted(PROCESSES)
    assert all(b["port"] == {"name": "http"} for b in routed.values())
    if overlay == "prod":
        assert {h for tls in ingress["tls"] for h in tls["hosts"]} == set(routed)


def test_prod_runs_a_released_image_not_a_moving_tag(built):
    for service in PROCESSES:
        image = container(built["prod"], service)["image"]
        name, _, tag = image.rpartition(":")
        assert name and tag not in ("", "latest", "dev"), image


# The image the Deployments run.

def dockerfile():
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    return [line.split(None, 1) for line in lines if line and not line.startswith("#")]


def test_the_image_starts_a_service_as_the_platform_does_locally():
    [command] = [yaml.safe_load(rest) for word, rest in dockerfile() if word == "CMD"]
    assert command[:2] == ["sh", "-c"]
    assert shlex.split(command[2]) == ["exec", "nameko", "run", "--config", "deploy/nameko.yaml",
                                       "services.${SERVICE}.service:${SERVICE_CLASS}"]


def test_pods_run_as_the_images_own_user(built):
    [user] = [rest for word, rest in dockerfile() if word == "USER"]
    for documents in built.values():
        for deployment in of(documents, "Deployment"):
            assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(user)


def test_the_image_holds_everything_the_services_import(tmp_path):
    for word, rest in dockerfile():
        if word == "COPY" and rest.split()[0] != "requirements.lock":
            source, target = rest.split()
            copy = shutil.copytree if (ROOT / source).is_dir() else shutil.copyfile
            (tmp_path / target).parent.mkdir(parents=True, exist_ok=True)
            copy(ROOT / source, tmp_path / target)
    imports = "; ".join(f"from services.{s}.service import {c}" for s, c in SERVICES.items())
    # -E: not the repository's PYTHONPATH, only what was copied (the working directory).
    done = subprocess.run([sys.executable, "-E", "-W", "ignore", "-c", imports], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "deploy" / "nameko.yaml").exists()


def test_the_webhook_bridge_is_scaled_on_its_own_queue_and_may_reach_outside_endpoints(built):
    trigger = next(t for t in of(built["prod"], "ScaledObject", "webhooks")["spec"]["triggers"]
                   if t["type"] == "rabbitmq")["metadata"]
    assert re.search(trigger["queueName"], "sub-webhooks.events")
    egress = of(built["prod"], "NetworkPolicy", "webhooks")["spec"]["egress"]
    assert any(rule.get("to") is None and {p["port"] for p in rule["ports"]} == {443, 80}
               for rule in egress)
