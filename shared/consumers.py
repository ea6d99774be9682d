"""Event handlers that validate, retry with a delay, and dead-letter what can never work.

``@subscribe("petition.raised.v1")`` on a service method makes it a pool
consumer of that event type, fed an ``Event`` already checked against the
catalogue. What happens to each message:

- handled: acked;
- invalid (not JSON, fails the envelope or its schema, wrong type): logged
  once with the reason, parked in ``dead-letters``, acked; the consumer goes on;
- the handler raised: sent back after a delay that grows with each attempt
  (``EVENT_RETRY_DELAYS``, seconds, default 1, 2, 5, 15, 60), while the
  messages behind it go on. After ``MAX_ATTEMPTS`` it is dead-lettered with the
  last error, unless the failure is an outage (the database or broker
  unreachable): that is retried at the longest delay until it ends, because
  nothing is wrong with the message. A handler's failure therefore never
  silently acks the event away.
"""

import logging
from functools import partial

from nameko.exceptions import ConfigurationError, ContainerBeingKilled
from nameko.messaging import Consumer, QueueConsumer
from pymongo.errors import ConnectionFailure

from shared.broker import Broker, consumer_queue, dead_letter_queue, retry_queue
from shared.catalogue import CATALOGUE
from shared.events import InvalidEvent, load_event, now
from shared.observability import EVENT_DELIVERY, EVENTS_HANDLED
from shared.timers import delays

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_DELAYS = (1, 2, 5, 15, 60)
OUTAGES = (ConnectionFailure, ConnectionError)  # ConnectionError: sockets, and so kombu's


def retry_delays(config):
    """The backoff, in seconds, from EVENT_RETRY_DELAYS ("1,2,5,15,60")."""
    return delays(config.get("EVENT_RETRY_DELAYS"), RETRY_DELAYS)


def retry_step(attempt, delays):
    """Which step of the backoff follows the ``attempt``-th failure (counting from 1)."""
    return min(attempt, len(delays)) - 1


class SafeQueueConsumer(QueueConsumer):
    """nameko's queue consumer, but a body that cannot be decoded is dead-lettered."""

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = partial(self._decode_error, provider)
        return consumers

    def _decode_error(self, provider, message, exc):
        provider.dead_letter(message, f"cannot decode the body as {message.content_type}: {exc}")


class EventSubscriber(Consumer):
    queue_consumer = SafeQueueConsumer()

    def __init__(self, event_type, **kwargs):
        self.event_type = event_type
        super().__init__(queue=None, **kwargs)

    def setup(self):
        service = self.container.service_name
        if not CATALOGUE.consumes(self.event_type, service, self.method_name):
            raise ConfigurationError(
                f"{service}.{self.method_name} subscribes to {self.event_type}, which the "
                f"catalogue does not list for it: add it to shared/catalogue.py")
        producer = CATALOGUE.producer_of(self.event_type)
        self.queue = consumer_queue(producer, self.event_type, service, self.method_name)
        self.broker = Broker(self.container.config["AMQP_URI"])
        self.delays = retry_delays(self.container.config)
        self.broker.declare(self.queue.exchange, self.queue,
                            *(retry_queue(self.queue.name, step) for step in range(len(self.delays))),
                            dead_letter_queue())
        super().setup()

    def handle_message(self, body, message):
        try:
            event = load_event(CATALOGUE, body, self.event_type)
        except InvalidEvent as exc:
            self.dead_letter(message, str(exc))
            return
        context = {"correlation_id": event.correlationid}
        try:
            self.container.spawn_worker(
                self, (event,), {}, context_data=context,
                handle_result=partial(self.handle_event_result, message, event))
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_event_result(self, message, event, worker_ctx, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            self.count("handled")
            EVENT_DELIVERY.labels(self.event_type, self.method_name).observe(
                (now() - event.time).total_seconds())
        elif isinstance(exc_info[1], InvalidEvent):
            self.dead_letter(message, str(exc_info[1]))
        elif attempts(message) >= MAX_ATTEMPTS and not isinstance(exc_info[1], OUTAGES):
            self.dead_letter(message, f"gave up after {MAX_ATTEMPTS} attempts: {exc_info[1]!r}")
        else:
            self.retry_later(message)
        return result, exc_info

    def retry_later(self, message):
        """Back on the handler's queue after the next step's delay; acked only once the
        retry is safely with the broker, so a crash in between means a redelivery."""
        attempt = attempts(message)
        step = retry_step(attempt, self.delays)
        self.broker.publish(message.body, "", retry_queue(self.queue.name, step).name,
                            message.properties.get("message_id"),
                            headers={**(message.headers or {}), "x-attempts": attempt},
                            content_type=message.content_type or "application/json",
                            expiration=self.delays[step])
        self.queue_consumer.ack_message(message)
        self.count("retried")

    def count(self, outcome):
        EVENTS_HANDLED.labels(self.event_type, self.method_name, outcome).inc()

    def dead_letter(self, message, reason):
        log.error("dead-lettering a message from %s: %s", self.queue.name, reason,
                  extra={"reason": reason, "event_id": message.properties.get("message_id")})
        self.broker.dead_letter(message.body, message.content_type or "application/octet-stream",
                                self.queue.name, reason, message.properties.get("message_id"))
        self.queue_consumer.ack_message(message)
        self.count("dead_lettered")


def attempts(message):
    """How many times this message has been handled, counting this one."""
    return int((message.headers or {}).get("x-attempts", 0)) + 1


subscribe = EventSubscriber.decorator


def subscribe_all(event_types):
    """``@subscribe`` to each of several event types: one queue per type, one handler."""
    def decorate(method):
        for event_type in event_types:
            method = subscribe(event_type)(method)
        return method
    return decorate
