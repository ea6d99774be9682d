"""The Mongo-wire server makes each single-document write atomic, as MongoDB does.

The outbox and the optimistic lock depend on it. FerretDB 1.24 as released
loses concurrent updates (500 concurrent $inc left a counter at 12 here);
tools/infra.py builds it with its write commands serialised. These tests
keep that promise honest against whatever server MONGO_URI points at.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest


@pytest.fixture
def counters(mongo_client, database_prefix):
    collection = mongo_client[database_prefix + "atomicity"].counters
    collection.delete_many({})
    collection.insert_one({"_id": "c", "n": 0, "version": 0})
    return collection


def test_concurrent_increments_of_one_document_are_never_lost(counters):
    with ThreadPoolExecutor(10) as pool:
        list(pool.map(lambda _: counters.update_one({"_id": "c"}, {"$inc": {"n": 1}}), range(300)))
    assert counters.find_one({"_id": "c"})["n"] == 300


def test_a_version_checked_update_lets_exactly_one_writer_win(counters):
    def bump(_):
        while True:
            seen = counters.find_one({"_id": "c"})["version"]
            if counters.find_one_and_update({"_id": "c", "version": seen},
                                            {"$inc": {"version": 1, "n": 1}}):
                return

    with ThreadPoolExecutor(10) as pool:
        list(pool.map(bump, range(200)))
    assert counters.find_one({"_id": "c"}) == {"_id": "c", "n": 200, "version": 200}
