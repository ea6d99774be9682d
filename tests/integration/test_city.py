"""The city generator at a small size: the places agree between the services, the
history is what their stores would hold, and the same seed writes the same city."""

import pytest

from services.funding import domain as funding
from services.funding.store import FundingStore
from services.grid.store import GridStore
from shared.sealing import new_seal_key
from shared.storage import AggregateCollection
from tools import city

SEAL = new_seal_key()


@pytest.fixture(scope="module")
def written(mongo_client, database_prefix):
    prefix = f"{database_prefix}city"
    databases = city.databases_of(mongo_client, prefix)
    counts = city.generate(databases, grids=30, volunteers=40, petitions_count=300, seed=7,
                           seal_keys=SEAL)
    yield databases, counts
    for db in databases.values():
        mongo_client.drop_database(db.name)


def test_the_city_generator_writes_places_every_service_agrees_on(written):
    databases, _ = written
    grid_db, petition_db = databases["grid"], databases["petition"]
    registry = GridStore(grid_db).registry()
    community_of = {w["id"]: w["community_id"] for w in registry["workstations"]}
    sub_district_of = {c["id"]: c["sub_district_id"] for c in registry["communities"]}
    copies = {g["_id"]: g for g in petition_db.grids.find()}
    assert len(registry["grids"]) == len(copies) == 30
    for grid in registry["grids"]:
        copy = copies[grid["id"]]
        assert copy["community_id"] == community_of[grid["workstation_id"]]
        assert copy["sub_district_id"] == sub_district_of[copy["community_id"]]
    for petition in petition_db.petitions.find():
        assert petition["community_id"] == copies[petition["grid_id"]]["community_id"]


def test_the_city_generator_writes_documents_in_the_stores_shapes(written, mongo_client,
                                                                  database_prefix):
    databases, _ = written
    scratch = mongo_client[f"{database_prefix}cityshape"]
    AggregateCollection(scratch.probe).create({"_id": "x"})
    stored = scratch.probe.find_one({"_id": "x"})
    mongo_client.drop_database(scratch.name)
    assert set(city.aggregate({"_id": "x"})) == set(stored)
    for collection in (databases["petition"].petitions, databases["volunteer"].tasks,
                       databases["funding"].transactions):
        assert all(doc["outbox"] == [] and not doc["outbox_pending"]
                   for doc in collection.find()), "a historical import publishes nothing"
    teams = {t["_id"] for t in databases["volunteer"].teams.find()}
    assert {t["team_id"] for t in databases["volunteer"].tasks.find()} <= teams
    assert {t["_id"] for t in databases["grid"].teams.find()} == teams


def test_the_city_generators_ledger_reconciles_and_its_day_totals_are_its_sums(written):
    databases, _ = written
    store = FundingStore(databases["funding"])
    transactions = store.all_transactions()
    assert funding.reconcile(transactions)["reconciled"] is True
    for line in {funding.line_of(t) for t in transactions} - {None}:
        assert store.balance(line) == store.summed_balance(line)
    held = store.held_balances()
    assert held and all(fen == store.summed_balance(account) for account, fen in held.items())
    for department in {t["department_id"] for t in transactions}:
        where = {"department_id": department}
        assert store.statement(dict(where), None, None, 10)["totals_fen"] == \
            funding.statement(transactions, where)["totals_fen"]


def test_the_same_seed_writes_the_same_city(written, mongo_client, database_prefix):
    databases, counts = written
    again = city.databases_of(mongo_client, f"{database_prefix}cityagain")
    try:
        assert city.generate(again, grids=30, volunteers=40, petitions_count=300, seed=7,
                             seal_keys=SEAL) == counts
        hidden = {"reporter": 0}  # sealed with a fresh nonce each time
        assert list(again["petition"].petitions.find({}, hidden).sort("_id")) == \
            list(databases["petition"].petitions.find({}, hidden).sort("_id"))
        assert list(again["funding"].transactions.find().sort("_id")) == \
            list(databases["funding"].transactions.find().sort("_id"))
    finally:
        for db in again.values():
            mongo_client.drop_database(db.name)
