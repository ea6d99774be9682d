"""The outbox relay: moves events from aggregate documents to RabbitMQ, confirmed.

At-least-once: an event leaves the document only after the broker has
confirmed it, so a crash between publish and removal publishes it again, and
consumers are idempotent on the event's (source, id). Before its first
publish the relay declares every consumer queue the catalogue lists for the
events this service produces, so nothing is published into the void.
"""

import logging
import time

import eventlet
from eventlet.queue import Empty, LightQueue
from nameko.extensions import DependencyProvider
from pymongo import ASCENDING

from shared.broker import Broker, sleep_backoff
from shared.catalogue import CATALOGUE
from shared.observability import EVENTS_PUBLISHED, OUTBOX_FAILURES
from shared.storage import RELAYED, SAVED, UNRELAYED, database, insert_once

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
PUBLISHED = "published_events"
BATCH = 200
REMEMBERED = 10_000
EMPTY_AFTER_SECONDS = 1.0


class Remembered:
    """The ids of the last events this process published, confirmed: a write made while
    one was being published still lists it, and publishing it again would make every
    consumer handle it again, only to find it handled."""

    def __init__(self, size=REMEMBERED):
        self.ids, self.size = {}, size

    def add(self, id):
        self.ids[id] = None
        if len(self.ids) > self.size:
            del self.ids[next(iter(self.ids))]

    def __contains__(self, id):
        return id in self.ids


class OutboxRelay(DependencyProvider):
    """Publishes what this process just wrote at once, and sweeps for anything
    left pending (by a crash, or by another replica) every ``OUTBOX_SWEEP_SECONDS``.
    What it published leaves the outbox ``OUTBOX_EMPTY_AFTER_SECONDS`` later, unless the
    aggregate's next change drops it first (``shared.storage.Relayed``)."""

    def __init__(self, *collections):
        self.collections = collections
        self.published = Remembered()
        self.empty_after = EMPTY_AFTER_SECONDS

    def setup(self):
        self.db = database(self.container)
        self.broker = Broker(self.container.config["AMQP_URI"])
        self.sweep_seconds = float(self.container.config.get("OUTBOX_SWEEP_SECONDS", 10))
        self.empty_after = float(self.container.config.get("OUTBOX_EMPTY_AFTER_SECONDS",
                                                           EMPTY_AFTER_SECONDS))
        self.wakeups = LightQueue(maxsize=1)
        self.running = False
        self.declared = False
        self.db[PUBLISHED].create_index([("time", ASCENDING)])

    def start(self):
        self.running = True
        self.container.spawn_managed_thread(self._run, identifier="outbox-relay")

    def stop(self):
        self.running = False
        self.wake()
        try:
            # The next process would not know these are published, and publish them again.
            self.empty_due(at=None)
        except Exception:
            log.exception("could not empty the relayed outboxes; the next sweep will")

    def kill(self):
        self.running = False

    def worker_teardown(self, worker_ctx):
        # Most workers just wrote an outbox; publish now rather than at the next poll.
        self.wake()

    def get_dependency(self, worker_ctx):
        return self

    def wake(self):
        if self.wakeups.empty():
            self.wakeups.put_nowait(True)

    def ready(self):
        return self.declared

    def _run(self):
        failures = 0
        next_sweep = 0.0
        while self.running:
            try:
                if not self.declared:
                    produced = CATALOGUE.produced_by(self.container.service_name)
                    self.broker.declare_consumers(CATALOGUE, produced)
                    self.declared = True
                self.relay_written()
                self.empty_due(time.monotonic())
                if time.monotonic() >= next_sweep:
                    while self.sweep() and self.running:
                        eventlet.sleep(0)
                    next_sweep = time.monotonic() + self.sweep_seconds
                failures = 0
            except Exception:
                failures += 1
                OUTBOX_FAILURES.inc()
                log.exception("outbox relay pass failed; retrying (attempt %d)", failures)
                self.broker.reset()
                self.declared = False
                next_sweep = 0.0  # what this pass took from UNRELAYED or RELAYED, the sweep finds
                sleep_backoff(failures)
                continue
            try:
                self.wakeups.get(timeout=POLL_SECONDS)
            except Empty:
                pass

    def relay_written(self):
        """Publish the outboxes as this process wrote them. One that changed since (another
        process added events, or relayed some) keeps what was added for its writer, or
        for the sweep; what this process already published is not published again, and
        what another process did is, which consumers, idempotent on the event's
        identity, ignore."""
        for name in self.collections:
            collection = self.db[name]
            for id, outbox in UNRELAYED.take(collection).items():
                self.relay(collection, {"_id": id, "outbox": outbox})

    def keep(self, event):
        """Keep what was published, so it can be replayed to a subscriber that missed it."""
        # Published again after a crash: kept the first time.
        insert_once(self.db[PUBLISHED], {"_id": event["id"], "time": event["time"],
                                         "type": event["type"], "event": event})

    def sweep(self):
        """Publish one batch of whatever is pending; True if there may be more."""
        more = False
        for name in self.collections:
            collection = self.db[name]
            docs = list(collection.find({"outbox_pending": True}, {"outbox": 1}).limit(BATCH))
            for doc in docs:
                # At once: an outbox still pending would be found again by the next batch.
                self.relay(collection, doc, at_once=True)
            more = more or len(docs) == BATCH
        return more

    def relay(self, collection, doc, at_once=False):
        """Publish what of an outbox this process has not published yet; it leaves the
        outbox ``empty_after`` seconds later, or ``at_once``."""
        events = doc.get("outbox", [])
        for event in events:
            if event["id"] in self.published:
                continue
            consumed = bool(CATALOGUE.by_type[event["type"]].consumers)
            self.broker.publish_event(event, mandatory=consumed)
            EVENTS_PUBLISHED.labels(event["type"]).inc()
            self.keep(event)
            self.published.add(event["id"])
        if at_once or not self.empty_after:
            RELAYED.dropped(collection, doc["_id"], {e["id"] for e in events})
            self.empty(collection, doc["_id"], events)
        elif events:
            RELAYED.add(collection, doc["_id"], events, time.monotonic() + self.empty_after)

    def empty_due(self, at):
        """Remove from their outboxes the published events due to leave by ``at``
        (``time.monotonic()``; all when None) that no change has dropped meanwhile."""
        for name in self.collections:
            collection = self.db[name]
            for id, events in RELAYED.take(collection, at).items():
                self.empty(collection, id, events)

    def empty(self, collection, id, events):
        """Remove published ``events`` from an outbox, and lower its flag once it is empty."""
        # Usually nothing was added since, and one write empties the outbox and lowers the
        # flag: FerretDB rewrites the whole document on every update, so a second write
        # would cost as much as the first. Each write raises the version, as every write of
        # an aggregate does, and outdates this process's copy.
        SAVED.forget(collection, id)
        if events and collection.update_one(
                {"_id": id, "outbox": events},
                {"$set": {"outbox": [], "outbox_pending": False},
                 "$inc": {"version": 1}}).modified_count:
            return
        if events:
            collection.update_one({"_id": id}, {"$pullAll": {"outbox": events},
                                                 "$inc": {"version": 1}})
        collection.update_one({"_id": id, "outbox": {"$size": 0}, "outbox_pending": True},
                              {"$set": {"outbox_pending": False}, "$inc": {"version": 1}})
