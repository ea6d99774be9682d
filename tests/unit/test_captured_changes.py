"""``captured`` holds only the change the store saved, so effects outside the document (a
metric, a claim slot) happen once."""

from shared.domain import Change
from shared.storage import AggregateCollection, captured


class LosesTheFirstRace:
    """One document whose first update loses to another delivery of the same event."""

    full_name = "db.things"

    def __init__(self):
        self.doc = {"_id": "a", "version": 1, "handled": []}

    def find_one(self, query):
        return dict(self.doc)

    def find_one_and_update(self, query, update, return_document):
        self.doc = {**self.doc, "version": 2, "handled": ["grid/e1"]}
        return None


def test_a_change_that_lost_the_race_to_the_same_event_is_not_captured():
    decide, saved = captured(lambda doc: Change(set={"seen": True}))
    AggregateCollection(LosesTheFirstRace()).change("a", decide, handled="grid/e1")
    assert saved.get("change") is None
