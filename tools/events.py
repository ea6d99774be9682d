"""What the operator's commands for the message bus do: dead letters listed, shown and
republished, and a service's events replayed. The commands themselves are
``python -m tools.cli dead-letters ...`` and ``python -m tools.cli replay ...``.
"""

import sys

from kombu import Connection
from pymongo import MongoClient

from shared.broker import DEAD_LETTERS, Broker
from shared.catalogue import CATALOGUE
from shared.outbox import PUBLISHED


def dead_letters(amqp_uri, republish=(), every=False):
    """The dead letters, oldest first, as (number, reason, queue, body); the chosen ones are
    put back on their queues, the others stay where they are."""
    found, broker = [], Broker(amqp_uri)
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        held = []
        while (message := channel.basic_get(DEAD_LETTERS, no_ack=False)) is not None:
            held.append(message)
        for number, message in enumerate(held, 1):
            headers = message.headers or {}
            found.append((number, headers.get("x-reason", ""), headers.get("x-queue", ""),
                          message.body))
            if every or number in republish:
                # Confirmed on the handler's queue before it leaves the dead letters.
                broker.publish(message.body, "", headers["x-queue"],
                               message.properties.get("message_id"),
                               content_type=message.content_type or "application/json")
                channel.basic_ack(message.delivery_tag)
            else:
                channel.basic_reject(message.delivery_tag, requeue=True)
    broker.reset()
    return found


def replay(amqp_uri, mongo_uri, prefix, service, since, until=None, type=None, progress=None):
    """Publish again what ``service`` published in a time range, oldest first; returns
    how many. The events keep their ids, so consumers that handled them skip them.

    ``since`` and ``until`` are ISO times in UTC, as the events carry them (they are
    compared as text). ``progress(done, total)`` hears of each event published."""
    query = {"time": {"$gte": since, **({"$lt": until} if until else {})}}
    if type:
        query["type"] = type
    client = MongoClient(mongo_uri, tz_aware=True)
    broker = Broker(amqp_uri)
    try:
        broker.declare_consumers(CATALOGUE, CATALOGUE.produced_by(service))
        kept_events = client[f"{prefix}{service}"][PUBLISHED]
        total, count = kept_events.count_documents(query), 0
        for kept in kept_events.find(query).sort("time"):
            event = kept["event"]
            broker.publish_event(event, mandatory=bool(CATALOGUE.by_type[event["type"]].consumers))
            count += 1
            if progress:
                progress(count, total)
        return count
    finally:
        broker.reset()
        client.close()


if __name__ == "__main__":
    # Kept only to point whoever follows an older runbook to where the commands went.
    sys.exit("The bus commands moved to the operator CLI: python -m tools.cli dead-letters "
             "--help, python -m tools.cli replay --help")
