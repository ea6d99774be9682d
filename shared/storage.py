"""MongoDB access: one database per service, aggregates that carry their own outbox.

FerretDB (the embedded default) has no multi-document transactions, so every
state change and the events it causes are written in ONE single-document
update: the document holds its pending events in ``outbox`` (flagged by
``outbox_pending`` so the relay finds them through an index), its
optimistic-lock ``version``, and ``handled``, the keys of the events already
applied to it. Because the record of a handled event lives in the same
document as its effect, a redelivered event can never apply twice, even if the
process dies between any two lines.
"""

import time
from collections import OrderedDict, defaultdict
from datetime import UTC, datetime, timedelta

import bson
import eventlet
from nameko.extensions import DependencyProvider
from pymongo import ASCENDING, MongoClient
from pymongo.errors import DuplicateKeyError

from shared.domain import Change
from shared.errors import Conflict

_clients = {}


def insert_once(collection, doc):
    """Insert ``doc`` unless one with the same ``_id`` (or the same key of another unique
    index) is there; True if it was inserted. What a log keyed by an event's identity or a
    key of its own needs: FerretDB answers an insert with one write, an upsert with a read
    and a write."""
    try:
        collection.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True


class Unrelayed:
    """The aggregates this process has just given events, with their outboxes as
    written, so the relay can publish them without searching for pending outboxes
    (FerretDB answers that search by scanning the whole collection) or reading the
    documents again. Keyed by the collection's full name (database.collection), so
    services sharing a process (as in tests) each take only their own."""

    def __init__(self):
        self.outboxes = defaultdict(dict)

    def add(self, collection, id, outbox):
        self.outboxes[collection.full_name][id] = outbox

    def take(self, collection):
        """Outboxes by aggregate id, each the newest this process wrote."""
        return self.outboxes.pop(collection.full_name, {})


UNRELAYED = Unrelayed()


class Relayed:
    """Events the relay has published that still wait in their aggregate's outbox: the
    relay removes them a moment later (``OUTBOX_EMPTY_AFTER_SECONDS``), because the
    aggregate often changes again at once (a petition dispatched is opened as a task and
    its funds held within a second), and that change drops them in its own write, which
    FerretDB makes as dear as the relay's (it rewrites the whole document at every
    update). Keyed like ``Unrelayed``."""

    def __init__(self):
        self.waiting = defaultdict(dict)

    def add(self, collection, id, events, due):
        """``events`` of the aggregate are published; remove them from it at ``due``
        (``time.monotonic()``) at the latest."""
        entry = self.waiting[collection.full_name].setdefault(id, {"due": due, "events": []})
        known = {e["id"] for e in entry["events"]}
        entry["events"] += [e for e in events if e["id"] not in known]

    def ids(self, collection, id):
        entry = self.waiting[collection.full_name].get(id)
        return {e["id"] for e in entry["events"]} if entry else set()

    def dropped(self, collection, id, ids):
        """A change of the aggregate wrote its outbox without these."""
        waiting = self.waiting[collection.full_name]
        if id in waiting:
            left = [e for e in waiting[id]["events"] if e["id"] not in ids]
            if left:
                waiting[id]["events"] = left
            else:
                del waiting[id]

    def take(self, collection, at=None):
        """The waiting events due by ``at`` (all when None), by aggregate id."""
        waiting = self.waiting[collection.full_name]
        due = [id for id, entry in waiting.items() if at is None or entry["due"] <= at]
        return {id: waiting.pop(id)["events"] for id in due}


RELAYED = Relayed()


class Saved:
    """The aggregates as this process last saved them, the newest ``limit``, so that the
    next change of one starts from its copy instead of reading it again: an aggregate's
    changes come in bursts (a petition is raised, dispatched, opened as a task and its
    funds held within a second). A copy is trusted only by a save conditional on its
    version, which fails if anything wrote the document since: every write of an
    aggregate raises its version. Kept as BSON, so that no caller can alter a copy."""

    def __init__(self, limit=2000):
        self.limit = limit
        self.docs = OrderedDict()

    def put(self, collection, doc):
        key = (collection.full_name, doc["_id"])
        self.docs.pop(key, None)
        self.docs[key] = bson.encode(doc)
        while len(self.docs) > self.limit:
            self.docs.popitem(last=False)

    def get(self, collection, id):
        raw = self.docs.get((collection.full_name, id))
        return raw and bson.decode(raw, codec_options=collection.codec_options)

    def forget(self, collection, id):
        self.docs.pop((collection.full_name, id), None)


SAVED = Saved()


class Recent:
    """A value read from the database at most once every ``seconds`` in this process, and
    at once again after this process changed it (``forget``): what every message or
    order needs and people seldom change (the dispatch rules, the work calendar, the
    webhook subscriptions). Another replica's change is seen within ``seconds``. Unless
    ``immutable``, the value is kept as BSON, so each caller gets a copy of its own."""

    def __init__(self, read, seconds=1.0, immutable=False, clock=time.monotonic):
        self.read, self.seconds, self.immutable, self.clock = read, seconds, immutable, clock
        self.kept, self.read_at = None, None

    def get(self):
        if self.read_at is None or self.clock() - self.read_at >= self.seconds:
            value = self.read()
            self.kept = value if self.immutable else bson.encode({"value": value})
            self.read_at = self.clock()
        return self.kept if self.immutable else bson.decode(self.kept)["value"]

    def forget(self):
        self.read_at = None


def database(container):
    """The service's own database; one pooled client per process and URI."""
    uri = container.config["MONGO_URI"]
    if uri not in _clients:
        _clients[uri] = MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000)
    prefix = container.config.get("DATABASE_PREFIX") or ""
    return _clients[uri][f"{prefix}{container.service_name}"]


class MongoStore:
    """Base of each service's store: it owns its collections and their indexes.

    ``SHAPE`` numbers the shape of the documents this release writes: a release that
    adds to ``upgrade`` raises it, so that the upgrade runs at the next start
    (``upgrade_at_start``) and once more an hour later (``settle_upgrade``).
    """

    SHAPE = 1

    def __init__(self, db):
        self.db = db

    def ensure_indexes(self):
        """Create the indexes the store's queries rely on (idempotent)."""

    def upgrade(self):
        """Bring documents written by an earlier version to today's shape (idempotent:
        each upgrade selects only documents still in the old shape)."""

    def ping(self):
        self.db.command("ping")


# Longer than a rolling update takes to retire the last pod of the release before.
UPGRADES_SETTLE_AFTER = timedelta(hours=1)


def upgrade_at_start(store, at=None):
    """Run ``store.upgrade()`` if the store's database holds an older shape; True if it ran.

    Each upgrade reads whole collections (FerretDB cannot push ``$exists`` down to an
    index), which at a city's size takes minutes, so it runs at the first start of the
    release that raises ``SHAPE``, which is recorded in the store's database
    (``shapes``), and not at every start. A start of an older release (a rollback)
    leaves the newer shape alone.
    """
    at = at or datetime.now(UTC)
    recorded, where = _recorded_shape(store)
    if recorded and recorded["shape"] >= store.SHAPE:
        return False
    store.upgrade()
    store.db.shapes.replace_one(where, {"shape": store.SHAPE, "since": at.isoformat(),
                                        "settled": False}, upsert=True)
    return True


def settle_upgrade(store, at=None):
    """Run the upgrade once more, ``UPGRADES_SETTLE_AFTER`` after its first run, for what
    pods of the release before wrote in the old shape while the update rolled out, and
    record the shape settled. Returns the seconds until that is due; None once settled.
    """
    at = at or datetime.now(UTC)
    recorded, where = _recorded_shape(store)
    if recorded is None or recorded["shape"] != store.SHAPE or recorded["settled"]:
        return None
    due = datetime.fromisoformat(recorded["since"]) + UPGRADES_SETTLE_AFTER - at
    if due > timedelta(0):
        return due.total_seconds()
    store.upgrade()
    store.db.shapes.update_one(where, {"$set": {"settled": True}})
    return None


def _recorded_shape(store):
    """The store's record in ``shapes`` (its shape, since when, whether settled; None
    before the first upgrade) and the filter that finds it."""
    where = {"_id": type(store).__name__}
    return store.db.shapes.find_one(where), where


class Storage(DependencyProvider):
    """Hands each worker the service's store, bound to the service's own database."""

    def __init__(self, store_class):
        self.store_class = store_class

    def setup(self):
        self.store = self.store_class(database(self.container))
        self.store.ensure_indexes()
        upgrade_at_start(self.store)

    def start(self):
        self.settler = self.container.spawn_managed_thread(self._settle_upgrade)

    def stop(self):
        self.settler.kill()  # it is waiting for the hour; the next start waits again

    def _settle_upgrade(self):
        while (wait := settle_upgrade(self.store)) is not None:
            eventlet.sleep(wait)

    def get_dependency(self, worker_ctx):
        return self.store


class AggregateCollection:
    """A collection of aggregates whose documents carry version, outbox and handled keys.
    Whatever writes one of its documents raises its version (``SAVED`` relies on it)."""

    MAX_ATTEMPTS = 50

    def __init__(self, collection):
        self.collection = collection

    def ensure_indexes(self):
        self.collection.create_index([("outbox_pending", ASCENDING)])

    def get(self, id):
        return self.collection.find_one({"_id": id})

    def create(self, doc, events=(), handled=None):
        """Insert a new aggregate with its first events; False if it already exists."""
        doc = dict(doc, version=1, outbox=list(events), outbox_pending=bool(events),
                   handled=[handled] if handled else [])
        if not insert_once(self.collection, doc):
            return False
        SAVED.put(self.collection, doc)
        if events:
            UNRELAYED.add(self.collection, doc["_id"], doc["outbox"])
        return True

    def put(self, id, decide, handled=None):
        """Create or change an aggregate through ``decide(current or None) -> Change | None``:
        what an import or a replace-by-id does. ``handled`` is as for ``change``."""
        if self.change(id, decide, handled) is not None:
            return
        change = decide(None)
        if change is None or self.create({"_id": id, **change.set}, change.events, handled):
            return
        self.change(id, decide, handled)

    def add_missing_versions(self):
        """Documents written before the collection held aggregates get a first version
        and no handled keys (an upgrade; idempotent)."""
        self.collection.update_many({"version": {"$exists": False}},
                                    {"$set": {"version": 1, "handled": []}})

    def keep(self, id, folded, handled=None):
        """Save ``folded(document as stored, or None) -> document`` as the aggregate: a
        document folded from events (``shared.folds``), saved only onto the document it
        was folded from, so two workers folding one subject at once lose no event.
        ``handled`` is the key of the event folded in, so a redelivery folds nothing."""
        self.put(id, lambda stored: Change(set={key: value for key, value
                                                in folded(stored).items() if key != "_id"}),
                 handled)

    def change(self, id, decide, handled=None):
        """Get, act, save: apply ``decide(doc) -> Change | None`` under an optimistic lock.

        ``handled`` is the key of the event being applied, if any; a document
        that already lists it is left alone. Returns the document as saved, or
        None when there is no such document.
        """
        copy = SAVED.get(self.collection, id)
        for _ in range(self.MAX_ATTEMPTS):
            # What an earlier attempt decided was not saved (see ``captured``).
            getattr(decide, "new_attempt", lambda: None)()
            doc, speculative, copy = copy or self.get(id), copy is not None, None
            if doc is None:
                return None
            # Only a save validates the copy: what would save nothing, or is refused, is
            # decided again on the document as it is.
            try:
                skip = handled and handled in doc.get("handled", [])
                change = None if skip else decide(doc)
            except Exception:
                if speculative:
                    continue
                raise
            if skip or (change is None and not handled):
                if speculative:
                    continue
                return doc
            change = change or Change()
            update = {"$inc": {"version": 1}, "$set": dict(change.set)}
            push = {name: {"$each": list(values)} for name, values in change.push.items()}
            outbox = doc.get("outbox", [])
            relayed = RELAYED.ids(self.collection, id)
            kept = [e for e in outbox if e["id"] not in relayed]
            if len(kept) < len(outbox):
                # Under the version lock the outbox as read is the outbox as it is (the
                # relay's removals raise the version too).
                update["$set"]["outbox"] = kept + list(change.events)
                update["$set"]["outbox_pending"] = bool(update["$set"]["outbox"])
            elif change.events:
                push["outbox"] = {"$each": list(change.events)}
                update["$set"]["outbox_pending"] = True
            if handled:
                push["handled"] = {"$each": [handled]}
            if push:
                update["$push"] = push
            if not update["$set"]:
                del update["$set"]
            saved = self.collection.find_one_and_update(
                {"_id": id, "version": doc["version"]}, update, return_document=True,
            )
            if saved is None:
                SAVED.forget(self.collection, id)
                continue
            SAVED.put(self.collection, saved)
            RELAYED.dropped(self.collection, id, relayed)
            if change.events:
                UNRELAYED.add(self.collection, id, saved["outbox"])
            return saved
        raise Conflict(f"{id} kept changing under concurrent updates; try again")


def captured(decide):
    """``decide``, remembering in ``box["change"]`` the Change the store saved, so effects
    outside the document (a metric, a counter elsewhere) happen once. Nothing is captured
    when the store skipped it for an event already handled, even after an attempt that
    lost a race to another delivery of the same event: each attempt starts empty."""
    box = {}

    def capture(doc):
        box["change"] = decide(doc)
        return box["change"]

    capture.new_attempt = box.clear
    return capture, box


def checked_first(check, decide):
    """``decide``, once ``check(doc)`` has passed (it raises when the caller may not make the
    change): a check of what never changes, such as a document's grid, made on the
    document the change starts from, so that the command reads it once."""
    def checked(doc):
        check(doc)
        return decide(doc)

    checked.new_attempt = getattr(decide, "new_attempt", lambda: None)
    return checked
