"""The assessment's collections in the grid service's database: contracts, manual
assessments and scorecard weights, which administrators record, and a small projection of
the volunteer service's events (party members reporting to a community, volunteer work
completed) that the cadres dimension counts. Times are UTC ISO text, compared as text."""

from pymongo import ASCENDING, ReturnDocument

from services.grid.assessment import DEFAULT_WEIGHTS
from shared.storage import MongoStore

HIDDEN = {"_id": 0}


class AssessmentStore(MongoStore):
    def ensure_indexes(self):
        self.db.party_reports.create_index([("community_id", ASCENDING)])
        self.db.volunteer_work.create_index([("petition_id", ASCENDING)])

    # Recorded by administrators

    def save_contract(self, community_id, year, contract):
        """Replace the year's contract; its revision counts the times it was recorded."""
        # No projection: FerretDB's findAndModify does not take one.
        saved = self.db.contracts.find_one_and_update(
            {"_id": f"{community_id}/{year}"},
            {"$set": {"community_id": community_id, "year": year, **contract},
             "$inc": {"revision": 1}},
            upsert=True, return_document=ReturnDocument.AFTER)
        saved.pop("_id")
        return saved

    def contract(self, community_id, year):
        return self.db.contracts.find_one({"_id": f"{community_id}/{year}"}, HIDDEN)

    def save_assessment(self, community_id, year, dimension, record):
        self.db.manual_assessments.replace_one(
            {"_id": f"{community_id}/{year}/{dimension}"},
            {"community_id": community_id, "year": year, "dimension": dimension, **record},
            upsert=True)

    def assessments(self, community_id, year):
        """The latest manual assessment of each dimension, by dimension."""
        return {a["dimension"]: {k: a[k] for k in ("score", "note", "assessor", "recorded_at",
                                                    "recorded_by")}
                for a in self.db.manual_assessments.find({"community_id": community_id,
                                                          "year": year})}

    def weights(self):
        return self.db.scorecard_weights.find_one({"_id": "current"}, HIDDEN) or DEFAULT_WEIGHTS

    def save_weights(self, weights):
        self.db.scorecard_weights.replace_one({"_id": "current"}, weights, upsert=True)

    # Projected from the volunteer service's events; keyed by their own ids, so a
    # redelivery adds nothing.

    def record_report(self, report, at):
        self.db.party_reports.update_one(
            {"_id": report["report_id"]},
            {"$setOnInsert": {"volunteer_id": report["volunteer_id"],
                              "community_id": report["community_id"], "at": at}},
            upsert=True)

    def reported(self, community_id, until):
        """The party members reported to the community by ``until``."""
        return sorted({r["volunteer_id"] for r in self.db.party_reports.find(
            {"community_id": community_id, "at": {"$lte": until}})})

    def record_work(self, task, at):
        self.db.volunteer_work.update_one(
            {"_id": task["task_id"]},
            {"$setOnInsert": {"petition_id": task["petition_id"], "round": task["round"],
                              "volunteer_id": task["volunteer_id"], "hours": task["hours"],
                              "at": at}},
            upsert=True)

    def work_on(self, petition_ids, until):
        """The volunteer work completed on these petitions by ``until``."""
        return list(self.db.volunteer_work.find(
            {"petition_id": {"$in": list(petition_ids)}, "at": {"$lte": until}}, HIDDEN))
