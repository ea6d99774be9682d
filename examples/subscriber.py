"""An outside system subscribing to the platform's events, with a plain AMQP client.

It uses py-amqp (``pip install amqp``) and nothing of the platform: what it needs to
know is in the platform's AsyncAPI document (GET /asyncapi.json on any service).

    AMQP_URI=amqp://sub-myapp:<password>@rabbitmq:5672/%2F \\
    python examples/subscriber.py myapp 'petition.#' 'funds.settled.v1'

Ask the operators for a user (``python -m tools.bus add-subscriber myapp``): it may
declare, bind and read queues named ``sub-myapp.*`` and nothing else. The queue is
durable, so events published while this program is down wait for it. Each event is a
CloudEvents JSON envelope; ``id`` is unique, so a redelivered event can be skipped.
"""

import json
import os
import sys
from urllib.parse import unquote, urlparse

import amqp

EXCHANGES = ("grid.events", "petition.events", "volunteer.events", "funding.events")


def connect(uri):
    url = urlparse(uri)
    vhost = unquote(url.path[1:]) if len(url.path) > 1 else "/"
    connection = amqp.Connection(host=f"{url.hostname}:{url.port or 5672}", userid=url.username,
                                 password=unquote(url.password or ""), virtual_host=vhost)
    connection.connect()
    return connection


def subscribe(channel, name, patterns):
    """A durable queue of our own, bound to every exchange for each routing pattern."""
    queue = f"sub-{name}.events"
    channel.queue_declare(queue, durable=True, auto_delete=False)
    for exchange in EXCHANGES:
        # passive: the platform declares its exchanges; we may only bind to them
        channel.exchange_declare(exchange, "topic", passive=True)
        for pattern in patterns:
            channel.queue_bind(queue, exchange, routing_key=pattern)
    return queue


def show(message):
    event = json.loads(message.body)
    print(f"{event['time']}  {event['type']:<34} {event.get('subject') or '':<20} "
          f"{json.dumps(event['data'], ensure_ascii=False)[:120]}", flush=True)
    message.channel.basic_ack(message.delivery_tag)


def main(name, patterns):
    connection = connect(os.environ["AMQP_URI"])
    channel = connection.channel()
    channel.basic_qos(0, 50, False)
    channel.basic_consume(subscribe(channel, name, patterns), callback=show)
    print(f"listening for {', '.join(patterns)} on sub-{name}.events", flush=True)
    try:
        while True:
            connection.drain_events()
    except KeyboardInterrupt:
        connection.close()


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
