"""RabbitMQ topology and confirmed publishing.

Topology, all durable:

- one topic exchange per producing service, ``<service>.events``, routing key
  = event type (nameko's convention, so outside subscribers can bind
  ``petition.#``);
- per consumer handler a queue ``evt-<producer>-<type>--<service>.<method>``
  (nameko's name for a pool handler), and beside it retry queues
  ``<queue>.retry.<n>``, one per step of the backoff: a message that failed is
  published to the step's queue with the step's delay as its expiry, and on
  expiry dead-lettered back to the handler's queue. Every message in one retry
  queue waits as long, so none holds up another, and the handler's queue keeps
  flowing meanwhile;
- one ``dead-letters`` queue for messages that can never be handled, each with
  an ``x-reason`` header.
"""

import json
import logging

import eventlet
from eventlet.semaphore import Semaphore
from kombu import Connection, Exchange, Producer, Queue

log = logging.getLogger(__name__)

DEAD_LETTERS = "dead-letters"


class Unroutable(Exception):
    """The broker returned a mandatory message: no queue is bound for it."""


def event_exchange(producer):
    return Exchange(f"{producer}.events", type="topic", durable=True)


def queue_name(producer, type, service, method):
    return f"evt-{producer}-{type}--{service}.{method}"


def consumer_queue(producer, type, service, method):
    name = queue_name(producer, type, service, method)
    return Queue(name, exchange=event_exchange(producer), routing_key=type, durable=True)


def retry_queue(name, step):
    return Queue(f"{name}.retry.{step}", durable=True, queue_arguments={
        "x-dead-letter-exchange": "", "x-dead-letter-routing-key": name})


def dead_letter_queue():
    return Queue(DEAD_LETTERS, durable=True)


class Broker:
    """One connection with publisher confirms, safe to share between green threads."""

    def __init__(self, amqp_uri):
        self.connection = Connection(amqp_uri, transport_options={"confirm_publish": True})
        self.lock = Semaphore()
        self.producer = None
        self.returned = []

    def _producer(self):
        if self.producer is None:
            self.connection.ensure_connection(max_retries=3)
            self.producer = Producer(self.connection.channel(), on_return=self._on_return)
        return self.producer

    def _on_return(self, exc, exchange, routing_key, message):
        self.returned.append(message.properties.get("message_id"))

    def reset(self):
        """Drop the connection after a failure; the next call reconnects."""
        with self.lock:
            self.producer = None
            try:
                self.connection.close()
            except Exception:  # noqa: BLE001 - closing an already broken connection
                pass

    def declare(self, *entities):
        with self.lock:
            channel = self._producer().channel
            for entity in entities:
                entity.bind(channel).declare()

    def declare_consumers(self, catalogue, types):
        """Declare every queue the catalogue says consumes ``types``, before publishing them."""
        entities = [dead_letter_queue()]
        for event_type in types:
            entities.append(event_exchange(event_type.producer))
            for service, method in event_type.consumers:
                queue = consumer_queue(event_type.producer, event_type.type, service, method)
                entities.append(queue)
        self.declare(*entities)

    def publish(self, payload, exchange, routing_key, message_id, headers=None,
                content_type="application/json", mandatory=True, expiration=None):
        """Publish persistently, wait for the broker's confirm; raise Unroutable if a
        mandatory message is returned. ``expiration`` is in seconds."""
        with self.lock:
            self.returned.clear()
            self._producer().publish(
                payload, exchange=exchange, routing_key=routing_key,
                content_type=content_type, content_encoding="utf-8",
                delivery_mode=2, mandatory=mandatory, message_id=message_id,
                headers=headers or {}, retry=False, expiration=expiration,
            )
            if message_id in self.returned:
                raise Unroutable(f"no queue is bound to {exchange}/{routing_key}")

    def publish_event(self, event, mandatory=True):
        """``mandatory`` for events the platform itself consumes: one that no queue
        receives is a lost step. Events only outside systems may want are not."""
        self.publish(json.dumps(event), event_exchange(event["source"]).name, event["type"],
                     event["id"], mandatory=mandatory)

    def dead_letter(self, raw_body, content_type, queue, reason, message_id=None):
        """Park a message that can never be handled, with why, for an operator to look at."""
        self.publish(raw_body, "", DEAD_LETTERS, message_id, content_type=content_type,
                     headers={"x-reason": reason[:1000], "x-queue": queue})


def sleep_backoff(attempt, cap=5.0):
    eventlet.sleep(min(cap, 0.1 * 2 ** attempt))
