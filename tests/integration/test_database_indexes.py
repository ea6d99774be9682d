"""The Mongo-wire server reads a document by ``_id`` from the ``_id`` index, however small
or freshly written its collection: every aggregate's get, every relay lookup, every
optimistic-locked change starts there.

FerretDB 1.24 as released asks PostgreSQL for ``_id`` by containment, which the planner
answered with a sequential scan decompressing every document of a table whose
statistics made it look small; tools/infra.py builds it comparing ``_id`` with ``=``.
Our build also gives each index a GIN twin, which equalities use, built without a
pending list that every search would read.
"""

import json

import pytest

from tools import infra


def test_a_document_is_found_by_id_through_the_id_index(mongo_client, database_prefix):
    collection = mongo_client[database_prefix + "indexes"].petitions
    collection.insert_many([{"_id": f"P-{n:04d}", "grid_id": f"g{n % 45:02d}",
                             "timeline": [{"note": "x" * 200}] * 10} for n in range(500)])
    for n in range(0, 500, 5):
        collection.update_one({"_id": f"P-{n:04d}"}, {"$set": {"state": "closed"}})
    explained = mongo_client[database_prefix + "indexes"].command(
        "explain", {"find": "petitions", "filter": {"_id": "P-0123"}})
    if "filterPushdown" in explained:  # FerretDB: PostgreSQL's plan
        assert explained["queryPlanner"]["Plan"]["Node Type"] == "Index Scan", explained
    else:
        assert any(stage in json.dumps(explained) for stage in ("IXSCAN", "IDHACK", "EXPRESS")), \
            explained
    assert collection.find_one({"_id": "P-0123"})["grid_id"] == "g33"


def test_each_index_has_a_gin_twin_without_a_pending_list(mongo_client, database_prefix):
    db = mongo_client[database_prefix + "indexes"]
    db.petitions.create_index("open_in")
    if "filterPushdown" not in db.command("explain", {"find": "petitions", "filter": {}}):
        pytest.skip("the database is not our FerretDB build")
    twins = infra.psql("SELECT c.relname || ':' || array_to_string(c.reloptions, ',') "
                       "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       f"WHERE n.nspname = '{db.name}' AND c.relname LIKE '%\\_gin'")
    assert twins and all(twin.endswith(":fastupdate=off") for twin in twins), twins
