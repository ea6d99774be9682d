"""Documents written by the foundation release are brought to today's shape when a
service starts: nothing a city already stored is stranded by an upgrade."""

from datetime import timedelta
from functools import partial

from services.funding import domain as funding
from services.funding.store import FundingStore
from services.grid import disclosure, evaluation
from services.grid.disclosure_store import DisclosureStore
from services.grid.evaluation_store import EvaluationStore
from services.grid.store import GridStore
from services.petition.store import PetitionStore
from services.volunteer.store import VolunteerStore
from shared import folds, geo
from shared.events import now
from shared.storage import (
    UPGRADES_SETTLE_AFTER,
    MongoStore,
    settle_upgrade,
    upgrade_at_start,
)
from tests.unit.test_disclosure import TODAY, Log, dispatched, settled
from tests.unit.test_evaluation import PLACES, known_history


def test_petitions_that_moved_through_stages_now_have_lifecycle_states(db_of):
    petitions = db_of("petition").petitions
    petitions.insert_many([
        {"_id": "P-old-1", "stage": "completed", "raised_at": "2026-11-01T09:00:00+00:00"},
        {"_id": "P-old-2", "stage": "closed", "raised_at": "2026-11-01T09:00:00+00:00"}])
    store = PetitionStore(db_of("petition"))
    store.upgrade()
    store.upgrade()
    resolved, closed = petitions.find_one({"_id": "P-old-1"}), petitions.find_one({"_id": "P-old-2"})
    assert "stage" not in resolved
    assert (resolved["state"], resolved["round"], resolved["ratings"]) == ("resolved", 1, [])
    assert closed["state"] == "closed" and closed["outcome"] == "closed_before_follow_up"


def test_petitions_from_before_the_duplicate_key_get_it_while_open_and_none_once_closed(db_of):
    petitions = db_of("petition").petitions
    petitions.insert_many([
        {"_id": "P-open", "grid_id": "g01", "category": "drains", "state": "dispatched"},
        {"_id": "P-done", "grid_id": "g01", "category": "drains", "state": "closed"}])
    PetitionStore(db_of("petition")).upgrade()
    assert petitions.find_one({"_id": "P-open"})["open_in"] == "g01/drains"
    assert petitions.find_one({"_id": "P-done"})["open_in"] is None


def test_grids_kept_with_a_bounding_box_are_located_by_tile_after_the_upgrade(db_of):
    square = geo.to_text({"type": "Polygon", "coordinates": [
        [[116.40, 39.90], [116.405, 39.90], [116.405, 39.905], [116.40, 39.905], [116.40, 39.90]]]})
    old = {"_id": "g01", "boundary": square,
           "bbox": {"min_lat": 39.90, "max_lat": 39.905, "min_lng": 116.40, "max_lng": 116.405}}
    for store in (GridStore(db_of("grid")), PetitionStore(db_of("petition"))):
        store.db.grids.insert_one(dict(old))
        assert store.grid_at(39.902, 116.402) is None
        store.upgrade()
        store.upgrade()
        assert store.grid_at(39.902, 116.402)["_id"] == "g01"
        assert "bbox" not in store.db.grids.find_one({"_id": "g01"})


def test_dispatches_and_tasks_from_before_rounds_belong_to_round_one(db_of):
    db_of("grid").dispatches.insert_one({"_id": "P-old", "petition_id": "P-old",
                                         "handler": {"team_id": "t"}})
    db_of("volunteer").tasks.insert_one({"_id": "T-P-old", "petition_id": "P-old"})
    for store in (GridStore(db_of("grid")), VolunteerStore(db_of("volunteer"))):
        store.upgrade()
        store.upgrade()
    assert [d["_id"] for d in db_of("grid").dispatches.find()] == ["P-old/1"]
    assert GridStore(db_of("grid")).dispatch("P-old", 1)["round"] == 1
    assert db_of("volunteer").tasks.find_one({"_id": "T-P-old"})["round"] == 1


def test_the_foundation_releases_transactions_get_postings_statements_can_read(db_of):
    transactions = db_of("funding").transactions
    transactions.insert_many([
        {"_id": "allocation:demo-2026-housing", "kind": "allocation", "currency": "CNY",
         "fiscal_year": 2026, "budget_line": "public_infrastructure",
         "approved_by": "county finance bureau", "recorded_at": "2026-11-01T09:00:00+00:00",
         "postings": [{"account": "treasury", "amount_fen": -100},
                      {"account": "dept:housing:public_infrastructure:2026", "amount_fen": 100}]},
        {"_id": "settlement:T-P-old", "kind": "settlement", "currency": "CNY",
         "fiscal_year": 2026, "budget_line": "public_infrastructure",
         "recorded_at": "2026-11-02T09:00:00+00:00",
         "postings": [{"account": "dept:housing:public_infrastructure:2026", "amount_fen": -40},
                      {"account": "centre-c-hexi", "amount_fen": 40}]}])
    store = FundingStore(db_of("funding"))
    store.upgrade()
    store.upgrade()
    allocation = store.transaction("allocation:demo-2026-housing")
    assert allocation["department_id"] == "housing"
    assert {p["phase"] for p in allocation["postings"]} == {"approved"}
    requested = funding.allocate({"allocation_id": "demo-2026-housing", "department_id": "housing",
                                  "budget_line": "public_infrastructure", "fiscal_year": 2026,
                                  "amount_fen": 100, "approved_by": "county finance bureau"},
                                 now())
    funding.same_allocation(allocation, requested)  # asked again, found the same
    line = {"account": "dept:housing:public_infrastructure:2026"}
    statement = funding.statement(store.all_transactions(), line, None, None)
    assert statement["totals_fen"] == {"approved": 100, "executed": -40}
    # Balances select by the accounts each transaction lists, which the upgrade adds.
    assert store.balance("dept:housing:public_infrastructure:2026") == 60
    assert store.balance("centre-c-hexi") == 40


class CountedStore(MongoStore):
    def __init__(self, db, shape=2):
        super().__init__(db)
        self.SHAPE, self.upgrades = shape, 0

    def upgrade(self):
        self.upgrades += 1


def test_an_upgrade_runs_at_the_first_start_of_its_release_and_not_at_the_next(db_of):
    store, released = CountedStore(db_of("funding")), now()
    assert upgrade_at_start(store, released)
    assert not upgrade_at_start(store, released + UPGRADES_SETTLE_AFTER * 2)
    assert store.upgrades == 1


def test_an_upgrade_runs_once_more_an_hour_on_for_what_the_release_before_wrote_meanwhile(
        db_of):
    store, released = CountedStore(db_of("funding")), now()
    upgrade_at_start(store, released)
    assert settle_upgrade(store, released + UPGRADES_SETTLE_AFTER / 4) \
        == (UPGRADES_SETTLE_AFTER * 3 / 4).total_seconds()
    assert store.upgrades == 1
    assert settle_upgrade(store, released + UPGRADES_SETTLE_AFTER) is None
    assert settle_upgrade(store, released + UPGRADES_SETTLE_AFTER * 2) is None
    assert store.upgrades == 2


def test_a_new_shape_is_upgraded_to_and_a_rollback_leaves_it_alone(db_of):
    released = now()
    upgrade_at_start(CountedStore(db_of("funding")), released)
    assert upgrade_at_start(CountedStore(db_of("funding"), shape=3), released)
    older = CountedStore(db_of("funding"), shape=2)
    assert not upgrade_at_start(older, released + UPGRADES_SETTLE_AFTER * 2)
    assert settle_upgrade(older, released + UPGRADES_SETTLE_AFTER * 2) is None
    assert older.upgrades == 0
    assert db_of("funding").shapes.find_one({"_id": "CountedStore"})["shape"] == 3


def test_each_store_of_a_database_keeps_its_own_shape(db_of):
    class OtherStore(CountedStore):
        pass

    upgrade_at_start(CountedStore(db_of("volunteer")))
    assert upgrade_at_start(OtherStore(db_of("volunteer")))


def test_volunteers_holding_claims_from_before_the_mark_are_recounted_after_the_upgrade(db_of):
    volunteers = db_of("volunteer").volunteers
    volunteers.insert_many([{"_id": "v1", "open_claims": 2, "reserved_at": "2026-11-01"},
                            {"_id": "v2", "open_claims": 0}])
    store = VolunteerStore(db_of("volunteer"))
    store.upgrade()
    store.reconcile_claims(now())
    assert volunteers.find_one({"_id": "v1"})["open_claims"] == 0
    assert "claiming" not in volunteers.find_one({"_id": "v2"})


def test_facts_folded_before_they_had_versions_take_the_next_event_after_the_upgrade(db_of):
    store = EvaluationStore(db_of("grid"))
    events = sorted(known_history().of("P1"), key=lambda e: (e["time"], e["id"]))
    before = evaluation.fold("P1", events[:-1], PLACES.get)
    del before["last"]
    store.db.petition_facts.insert_one(before)
    for event in events:
        store.db.evaluation_events.insert_one({"_id": event["id"], "petition_id": "P1", **event})
    store.upgrade()
    store.keep_facts("P1", partial(evaluation.fold_in, "P1", event=events[-1],
                                   log=partial(store.events_of, "P1"), places_of=PLACES.get),
                     handled=events[-1]["id"])
    stored = store.db.petition_facts.find_one({"_id": "P1"})
    assert stored["version"] == 2
    assert folds.own(evaluation.start, stored) == evaluation.fold("P1", events,
                                                                              PLACES.get)


def test_disclosed_orders_from_before_they_had_versions_take_the_next_event_after_the_upgrade(
        db_of):
    store = DisclosureStore(db_of("grid"))
    log = Log()
    dispatched(log, TODAY - timedelta(days=2), "P1")
    settled(log, TODAY, "P1", 12_000)
    first, last = sorted(log.events, key=lambda e: (e["time"], e["id"]))
    before = disclosure.fold_order("P1", [first])
    del before["last"]
    store.db.disclosed_orders.insert_one(before)
    for event in log.events:
        store.db.disclosure_events.insert_one({"_id": event["id"], "subject": "order:P1", **event})
    store.upgrade()
    store.keep("order", "P1", partial(disclosure.fold_in, "order", "P1", event=last,
                                      log=partial(store.events_of, "order:P1")),
               handled=last["id"])
    stored = store.db.disclosed_orders.find_one({"_id": "P1"})
    assert stored["version"] == 2
    assert folds.own(disclosure.new_order, stored) == disclosure.fold_order("P1",
                                                                                   log.events)
