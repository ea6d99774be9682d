"""RabbitMQ users with least privilege: one per service, derived from the catalogue, and
read-only users for outside subscribers.

    python -m tools.bus users [--vhost /] [--host 127.0.0.1:5672] [--user-prefix P]
        one user per service (grid, petition, volunteer, funding), with only the
        permissions its part of the topology needs. The password comes from
        BUS_PASSWORD_<SERVICE> (BUS_PASSWORD_GRID, ...), else it is generated and
        printed once, in the service's AMQP URI. A user that exists keeps its
        password unless one is given; its permissions are set again either way.
    python -m tools.bus add-subscriber NAME [--vhost /] [--host 127.0.0.1:5672]
        user sub-NAME for an outside system: it may declare, bind and consume
        queues named sub-NAME.<anything>, bind them to the <service>.events
        exchanges, and nothing else. Password from BUS_PASSWORD, else generated;
        prints the AMQP URI to hand over.
    python -m tools.bus k8s [--write]
        the same users and permissions as Messaging Topology Operator resources, on
        the virtual host grid-governance, plus the autoscaler's user that only reads
        queue lengths; --write puts them in deploy/k8s/base/rabbitmq-users.yaml (a
        test keeps them in step).

The user commands call rabbitmqctl, so they run where it reaches the node, as
someone allowed to administer it; passwords go to it on standard input, never on
a command line. The operator tools (tools.events) keep using an administrator.

RabbitMQ checks three regexes per user and virtual host, against the names of
exchanges and queues: configure (declare, delete), write (publish to an
exchange; bind a queue) and read (consume or purge a queue; bind from an
exchange). What each service does on the bus (shared/broker.py), and so needs:

- its outbox declares its exchange ``<service>.events`` and publishes there;
- before its first publish, it declares and binds the queue of every consumer
  of what it publishes (configure and write on those queues, read on its
  exchange), so nothing is published into the void; it may not consume them;
- each of its handlers declares the producer's exchange and its own queue,
  binds one to the other and consumes the queue; beside it the handler's retry
  queues, which dead-letter back through the default exchange, so declaring
  them needs read on them and write on ``amq.default``;
- a handler publishes failed messages to its retry queues, and anything it can
  never handle to ``dead-letters``, through the default exchange
  (``amq.default``); every service declares ``dead-letters``, none reads it.
"""

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

import yaml

from shared.broker import DEAD_LETTERS, event_exchange, queue_name
from shared.catalogue import CATALOGUE

MANIFEST = Path(__file__).resolve().parents[1] / "deploy" / "k8s" / "base" / "rabbitmq-users.yaml"
# The name RabbitMQ checks permissions against when a message goes to the default exchange.
DEFAULT_EXCHANGE = "amq.default"
# shared.broker.retry_queue: one per step of the backoff, and the steps are configuration.
RETRIES = r"(\.retry\.[0-9]+)?"
RESOURCE = re.compile(r"[a-z0-9][a-z0-9._-]*")
# No dots, so one subscriber's queues (sub-NAME.*) never include another's.
SUBSCRIBER = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


class Permissions(NamedTuple):
    configure: str
    write: str
    read: str


def services(catalogue=CATALOGUE):
    return sorted({e.producer for e in catalogue} | {s for e in catalogue for s, _ in e.consumers})


def service_permissions(service, catalogue=CATALOGUE):
    """What ``service``'s user may do: exactly the names its code declares, binds,
    publishes to and consumes (the module's docstring says why each)."""
    own = [literal(event_exchange(service).name)] if catalogue.produced_by(service) else []
    handlers = handler_queues(service, catalogue)
    bound_from = [literal(exchange) for exchange in handlers.values()]
    consumed = [literal(queue) + RETRIES for queue in handlers]
    declared_for_consumers = [literal(queue) for queue in consumer_queues_of(service, catalogue)]
    return Permissions(
        configure=one_of(own + bound_from + consumed + declared_for_consumers
                         + [literal(DEAD_LETTERS)]),
        write=one_of(own + [literal(DEFAULT_EXCHANGE)] + [literal(queue) for queue in handlers]
                     + declared_for_consumers),
        read=one_of(own + bound_from + consumed),
    )


def subscriber_permissions(name, catalogue=CATALOGUE):
    """An outside system's: its own queues, bound from any service's events exchange.
    Write on its queues is what binding them takes; it reaches no exchange of ours."""
    if not SUBSCRIBER.fullmatch(name):
        raise ValueError(f"a subscriber's name is lower-case letters, digits and dashes: {name!r}")
    queues = literal(f"sub-{name}") + r"\..+"
    exchanges = [literal(event_exchange(producer).name) for producer in {e.producer for e in catalogue}]
    return Permissions(configure=one_of([queues]), write=one_of([queues]),
                       read=one_of([queues] + exchanges))


def handler_queues(service, catalogue):
    """The queue of each of the service's handlers, with the exchange it is bound to."""
    return {queue_name(e.producer, e.type, s, method): event_exchange(e.producer).name
            for e in catalogue for s, method in e.consumers if s == service}


def consumer_queues_of(service, catalogue):
    """The queues of every consumer of what the service publishes (its outbox declares them)."""
    return {queue_name(e.producer, e.type, s, method)
            for e in catalogue.produced_by(service) for s, method in e.consumers}


def literal(name):
    """A name as a regex. Only the dot needs escaping in the names the platform uses, and
    a name outside them is refused rather than trusted."""
    if not RESOURCE.fullmatch(name):
        raise ValueError(f"not a name the platform uses: {name!r}")
    return name.replace(".", r"\.")


def one_of(patterns):
    # RabbitMQ searches for the regex anywhere in a name: anchored, or petition.events
    # would grant petition.events.anything too.
    return "^(" + "|".join(sorted(set(patterns))) + ")$"


# The command line: rabbitmqctl for the broker, YAML for the Topology Operator.

def rabbitmqctl(*args, stdin=None):
    done = subprocess.run(["rabbitmqctl", "-q", *args], input=stdin, text=True,
                          capture_output=True)
    if done.returncode != 0:
        sys.exit(f"rabbitmqctl {args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def existing_users():
    return {user["user"] for user in json.loads(rabbitmqctl("list_users", "--formatter", "json"))}


def apply(user, permissions, vhost, password, existing):
    """Create or update ``user`` with exactly ``permissions`` on ``vhost``; its password
    changes only when one is given."""
    if user not in existing:
        rabbitmqctl("add_user", user, stdin=password + "\n")
    elif password is not None:
        rabbitmqctl("change_password", user, stdin=password + "\n")
    # No tags: no management UI or HTTP API, whatever the user had before.
    rabbitmqctl("set_user_tags", user)
    rabbitmqctl("set_permissions", "-p", vhost, user, *permissions)


def ensure_user(user, permissions, vhost, host, password_variable, existing):
    """Apply, and say how to connect: the URI with the password only when it was generated now."""
    given = os.environ.get(password_variable)
    if given:
        password, shown, note = given, "...", f" (password from {password_variable})"
    elif user in existing:
        password, shown, note = None, "...", " (password unchanged)"
    else:
        password = shown = secrets.token_urlsafe(24)
        note = ""
    apply(user, permissions, vhost, password, existing)
    return f"amqp://{quote(user, safe='')}:{quote(shown, safe='')}@{host}/{quote(vhost, safe='')}{note}"


def users(vhost, host, prefix):
    existing = existing_users()
    for service in services():
        uri = ensure_user(prefix + service, service_permissions(service), vhost, host,
                          f"BUS_PASSWORD_{service.upper()}", existing)
        print(f"{service}: {uri}")
    print("Put each URI in its service's Secret (amqp-uri); generated passwords are not "
          "shown again.", file=sys.stderr)


def add_subscriber(name, vhost, host):
    uri = ensure_user(f"sub-{name}", subscriber_permissions(name), vhost, host, "BUS_PASSWORD",
                      existing_users())
    print(f"sub-{name}: {uri}")
    print(f"It may declare and consume queues named sub-{name}.<anything> and bind them to "
          f"{', '.join(event_exchange(p).name for p in sorted({e.producer for e in CATALOGUE}))} "
          "with routing keys such as petition.#; it declares no exchange (passive=True), "
          "and publishes nowhere.", file=sys.stderr)


# Messaging Topology Operator resources. The broker is the RabbitmqCluster named rabbitmq in
# the same namespace (deploy/k8s/base/rabbitmq.yaml); the operator manages it with the
# default user the Cluster Operator made, so no administrator's password is handed around.
CLUSTER = {"name": "rabbitmq"}
# Its own virtual host, whose default queue type is quorum (see rabbitmq.yaml).
K8S_VHOST = "grid-governance"
# KEDA reads the length of the services' queues through the management API as this user.
AUTOSCALER = "autoscaler"
# Nothing to configure, write or read: the management tag and a permission entry on the
# virtual host are all it takes to list the queues' lengths there.
NOTHING = Permissions(configure="^$", write="^$", read="^$")


def metadata(name):
    return {"name": name, "labels": {"app.kubernetes.io/name": name,
                                     "app.kubernetes.io/part-of": "grid-governance"}}


def secret_of(user):
    """The user's own Secret: for a service, amqp-uri for the service itself, username and
    password for the operator to create the user with; for the autoscaler, username and
    password for the operator and for KEDA."""
    return f"grid-governance-{user}"


def user_resources(user, permissions, vhost, tags=()):
    spec = {"importCredentialsSecret": {"name": secret_of(user)}, "rabbitmqClusterReference": CLUSTER}
    if tags:
        spec["tags"] = list(tags)
    return [
        {"apiVersion": "rabbitmq.com/v1beta1", "kind": "User", "metadata": metadata(user),
         "spec": spec},
        {"apiVersion": "rabbitmq.com/v1beta1", "kind": "Permission", "metadata": metadata(user),
         "spec": {"vhost": vhost, "userReference": {"name": user},
                  "permissions": permissions._asdict(), "rabbitmqClusterReference": CLUSTER}}]


def manifests(vhost=K8S_VHOST):
    documents = []
    for service in services():
        documents += user_resources(service, service_permissions(service), vhost)
    documents += user_resources(AUTOSCALER, NOTHING, vhost, tags=["management"])
    header = (
        "# Generated by `python -m tools.bus k8s --write` from shared/catalogue.py; a test fails\n"
        "# when it differs from what tools/bus.py derives. One RabbitMQ user per service with\n"
        "# least-privilege permissions, and one for the autoscaler that may only read queue\n"
        "# lengths, for the RabbitMQ Messaging Topology Operator. The operator creates each user\n"
        "# from the username and password in its Secret grid-governance-<user>; a service\n"
        "# connects with that Secret's amqp-uri, so the three must agree.\n")
    return header + yaml.safe_dump_all(documents, sort_keys=False, width=10_000)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.bus", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("users", "add-subscriber"):
        command = commands.add_parser(name)
        command.add_argument("--vhost", default="/")
        command.add_argument("--host", default="127.0.0.1:5672",
                             help="host:port the users connect to, for the printed URI")
    commands.choices["users"].add_argument("--user-prefix", default="",
                                           help="before each service's user name")
    commands.choices["add-subscriber"].add_argument("name")
    commands.add_parser("k8s").add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "users":
        users(args.vhost, args.host, args.user_prefix)
    elif args.command == "add-subscriber":
        try:
            add_subscriber(args.name, args.vhost, args.host)
        except ValueError as exc:
            sys.exit(str(exc))
    elif args.write:
        MANIFEST.write_text(manifests())
    else:
        print(manifests(), end="")


if __name__ == "__main__":
    main()
