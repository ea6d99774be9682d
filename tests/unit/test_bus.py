"""The RabbitMQ permissions tools.bus derives from the catalogue, checked as RabbitMQ
checks them: each regex searched for in an exchange's or a queue's name."""

import re

import pytest

from shared.broker import DEAD_LETTERS, event_exchange, queue_name, retry_queue
from shared.catalogue import CATALOGUE
from tools.bus import NOTHING, service_permissions, services, subscriber_permissions

EXCHANGES = [event_exchange(service).name for service in services()]
BUILT_IN = ["amq.default", "amq.direct", "amq.fanout", "amq.topic", "amq.headers", "amq.match"]
HANDLER_QUEUES = {(service, queue_name(e.producer, e.type, service, method))
                  for e in CATALOGUE for service, method in e.consumers}


def allows(pattern, name):
    return re.search(pattern, name) is not None


def test_the_four_services_get_a_user_each():
    assert services() == ["funding", "grid", "petition", "volunteer"]


def test_petition_may_configure_its_own_exchange_and_its_handlers_queues():
    configure = service_permissions("petition").configure
    follow = queue_name("grid", "petition.dispatched.v1", "petition", "follow")
    assert allows(configure, "petition.events")
    assert allows(configure, follow)
    assert allows(configure, retry_queue(follow, 4).name)
    assert allows(configure, DEAD_LETTERS)


def test_petition_may_not_configure_grids_queues_for_events_it_does_not_publish():
    configure = service_permissions("petition").configure
    assert not allows(configure, queue_name("volunteer", "team.registered.v1", "grid", "track_team"))
    assert not allows(configure, queue_name("grid", "petition.dispatched.v1", "volunteer", "open_task"))
    # It declares grid's queue for its own event before publishing, but not grid's retries.
    dispatch = queue_name("petition", "petition.accepted.v1", "grid", "dispatch")
    assert allows(configure, dispatch)
    assert not allows(configure, retry_queue(dispatch, 0).name)


@pytest.mark.parametrize("service", services())
def test_a_service_may_declare_and_bind_every_queue_of_its_events_consumers_but_not_read_them(service):
    permissions = service_permissions(service)
    for event in CATALOGUE.produced_by(service):
        for consumer, method in event.consumers:
            queue = queue_name(service, event.type, consumer, method)
            assert allows(permissions.configure, queue) and allows(permissions.write, queue)
            assert allows(permissions.read, queue) == (consumer == service)


@pytest.mark.parametrize("service, queue", sorted(HANDLER_QUEUES))
def test_a_service_may_declare_bind_and_consume_its_handlers_queues_and_their_retries(service, queue):
    permissions = service_permissions(service)
    retries = [retry_queue(queue, step).name for step in range(12)]
    assert all(allows(permissions.configure, name) for name in [queue, *retries])
    assert all(allows(permissions.read, name) for name in [queue, *retries])
    assert allows(permissions.write, queue)


@pytest.mark.parametrize("service", services())
def test_a_service_may_consume_no_queue_but_its_own_handlers(service):
    read = service_permissions(service).read
    others = [queue for owner, queue in HANDLER_QUEUES if owner != service]
    assert others and not any(allows(read, queue) for queue in others)
    assert not allows(read, DEAD_LETTERS)


@pytest.mark.parametrize("service", services())
def test_a_service_publishes_only_to_its_own_exchange_and_the_default_one(service):
    write = service_permissions(service).write
    allowed = {event_exchange(service).name, "amq.default"}
    assert {name for name in EXCHANGES + BUILT_IN if allows(write, name)} == allowed


@pytest.mark.parametrize("service", services())
def test_a_service_binds_only_from_the_exchanges_of_what_it_publishes_or_consumes(service):
    read = service_permissions(service).read
    producers = {e.producer for e in CATALOGUE
                 if e.producer == service or any(s == service for s, _ in e.consumers)}
    assert {name for name in EXCHANGES + BUILT_IN if allows(read, name)} == {
        event_exchange(producer).name for producer in producers}


@pytest.mark.parametrize("service", services())
def test_a_services_permissions_match_whole_names_only(service):
    permissions = service_permissions(service)
    own = event_exchange(service).name
    for pattern in permissions:
        assert pattern.startswith("^(") and pattern.endswith(")$")
    assert not allows(permissions.write, own + ".forged")
    assert not allows(permissions.write, "x" + own)
    assert not allows(permissions.configure, "dead-letters-2")


def test_a_subscriber_cannot_publish_to_any_exchange():
    write = subscriber_permissions("audit").write
    assert not any(allows(write, name) for name in EXCHANGES + BUILT_IN)


def test_a_subscriber_may_declare_bind_and_consume_only_its_own_queues():
    permissions = subscriber_permissions("audit")
    for pattern in permissions:
        assert allows(pattern, "sub-audit.petitions")
    for name in ["sub-audit", "sub-auditor.petitions", "sub-other.petitions", DEAD_LETTERS,
                 *(queue for _, queue in HANDLER_QUEUES)]:
        assert not any(allows(pattern, name) for pattern in permissions), name


def test_a_subscriber_may_bind_from_every_services_exchange_and_nothing_else():
    read = subscriber_permissions("audit").read
    assert all(allows(read, name) for name in EXCHANGES)
    assert not any(allows(read, name) for name in BUILT_IN)


@pytest.mark.parametrize("name", ["", "Audit", "a.b", ".*", "audit|grid", "-audit", "a" * 64])
def test_a_subscribers_name_is_a_plain_lower_case_word(name):
    with pytest.raises(ValueError):
        subscriber_permissions(name)


def test_the_autoscalers_user_may_configure_write_and_read_nothing():
    names = EXCHANGES + BUILT_IN + [DEAD_LETTERS] + [queue for _, queue in HANDLER_QUEUES]
    for pattern in NOTHING:
        assert not any(allows(pattern, name) for name in names)
