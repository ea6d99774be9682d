"""Operator commands for the message bus: dead letters, and replaying a service's events.

    python -m tools.events dead-letters                 list them, with why and where from
    python -m tools.events dead-letters --show 3        one, whole
    python -m tools.events dead-letters --republish 1 3 (or --all)
                                                        back onto the queue they came from,
                                                        after the cause is fixed
    python -m tools.events replay grid --since 2026-11-23T09:00:00+00:00 [--until ...]
                                  [--type petition.dispatched.v1]
                                                        publish a service's events again
                                                        (consumers skip what they handled)

Both take AMQP_URI, MONGO_URI and DATABASE_PREFIX from the environment, like the services.
"""

import argparse
import json
import os

from kombu import Connection
from pymongo import MongoClient

from shared.broker import DEAD_LETTERS, Broker
from shared.catalogue import CATALOGUE
from shared.outbox import PUBLISHED

AMQP_URI = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
MONGO_URI = os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27017/")


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


def replay(amqp_uri, mongo_uri, prefix, service, since, until=None, type=None):
    """Publish again what ``service`` published in a time range, oldest first; returns
    how many. The events keep their ids, so consumers that handled them skip them."""
    query = {"time": {"$gte": since, **({"$lt": until} if until else {})}}
    if type:
        query["type"] = type
    client = MongoClient(mongo_uri, tz_aware=True)
    broker = Broker(amqp_uri)
    try:
        broker.declare_consumers(CATALOGUE, CATALOGUE.produced_by(service))
        count = 0
        for kept in client[f"{prefix}{service}"][PUBLISHED].find(query).sort("time"):
            event = kept["event"]
            broker.publish_event(event, mandatory=bool(CATALOGUE.by_type[event["type"]].consumers))
            count += 1
        return count
    finally:
        broker.reset()
        client.close()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.events", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    letters = commands.add_parser("dead-letters")
    letters.add_argument("--show", type=int)
    letters.add_argument("--republish", type=int, nargs="*", default=())
    letters.add_argument("--all", action="store_true")
    again = commands.add_parser("replay")
    again.add_argument("service", choices=sorted({e.producer for e in CATALOGUE}))
    again.add_argument("--since", required=True)
    again.add_argument("--until")
    again.add_argument("--type")
    args = parser.parse_args(argv)
    if args.command == "replay":
        count = replay(AMQP_URI, MONGO_URI, os.environ.get("DATABASE_PREFIX", ""), args.service,
                       args.since, args.until, args.type)
        print(f"replayed {count} events of {args.service}")
        return
    found = dead_letters(AMQP_URI, set(args.republish), args.all)
    for number, reason, queue, body in found:
        if args.show is None:
            print(f"{number:4}  {queue}\n      {reason[:200]}")
        elif args.show == number:
            print(json.dumps({"queue": queue, "reason": reason,
                              "body": body.decode() if isinstance(body, bytes) else body},
                             ensure_ascii=False, indent=2))
    if args.republish or args.all:
        print(f"republished {len(args.republish) if not args.all else len(found)}")
    elif not found:
        print("no dead letters")


if __name__ == "__main__":
    main()
