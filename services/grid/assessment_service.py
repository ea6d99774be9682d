"""The grid service's assessment entrypoints (考核): target-responsibility contracts
(目标管理责任状) and the five-goods scorecard (五个好) of a community for a year, both
reported as at any moment (services/grid/assessment.py says how each figure is made).

    PUT /contracts/<community>/<year>                        the contract (administrator)
    GET /contracts/<community>/<year>/progress?at=           each target against the facts
    GET /scorecards/<community>/<year>?at=                   the five dimensions and total
    PUT /scorecards/<community>/<year>/assessments/<dim>     a manual assessment
    PUT /scorecard-weights                                   the dimensions' weights
"""

from datetime import UTC

from services.grid import assessment
from services.grid.assessment_store import AssessmentStore
from services.grid.schemas import (
    AssessmentQuery,
    ContractDefinition,
    ContractProgress,
    ContractView,
    ManualAssessment,
    ManualAssessmentView,
    Scorecard,
    ScorecardWeights,
)
from shared.auth import ADMIN_ONLY, AUDITOR, STAFF
from shared.consumers import subscribe
from shared.errors import NotFound
from shared.events import now
from shared.http import http, json_response
from shared.schemas import one
from shared.storage import Storage


class Assessment:
    """Mixed into GridService beside Evaluation, whose facts and event log it reads."""

    assessment = Storage(AssessmentStore)

    @subscribe("volunteer.reported.v1")
    def track_party_report(self, event):
        self.assessment.record_report(event.data, _text(event.time))

    @subscribe("task.completed.v1")
    def track_volunteer_work(self, event):
        self.assessment.record_work(event.data, _text(event.time))

    @http("PUT", "/contracts/<community_id>/<year>", allow=ADMIN_ONLY,
          body=ContractDefinition, returns=ContractView)
    def put_contract(self, request, community_id, year, body):
        """Record the community's target-responsibility contract for the year: the
        minimum rates (0 to 1) and the most working days any round may run overdue, each
        optional, and who signed. Recording it again replaces it (``revision`` counts).

            {"targets": {"resolution_rate": 0.9, "satisfaction_rate": 0.9,
                         "max_overdue_working_days": 5},
             "signed_by": ["Party committee of Xiaojianghu", "Hexi community"],
             "signed_on": "2026-01-05"}
        """
        year = _year(year)
        self._community(community_id)
        saved = self.assessment.save_contract(community_id, year, {
            **one(ContractDefinition).dump(body), "recorded_at": _text(now()),
            "recorded_by": self.caller.sub})
        return json_response(one(ContractView).dump(saved))

    @http("GET", "/contracts/<community_id>/<year>/progress",
          allow=(*STAFF, AUDITOR), query=AssessmentQuery, returns=ContractProgress)
    def contract_progress(self, request, community_id, year, query):
        """Each target of the contract with the actual figure year-to-date at ``at``
        (default now), met / at_risk / not_met / no_data, and the counts behind it."""
        year = _year(year)
        self._community(community_id)
        contract = self.assessment.contract(community_id, year)
        if contract is None:
            raise NotFound(f"No contract for {community_id} in {year}; record it with PUT "
                           f"/contracts/{community_id}/{year}.")
        at, facts = self._facts_as_at(community_id, year, query)
        targets = assessment.progress(contract["targets"], facts, at, self.store.calendar())
        return json_response(one(ContractProgress).dump({
            **self._period(community_id, year, at), "contract": contract,
            "targets": targets}))

    @http("GET", "/scorecards/<community_id>/<year>", allow=(*STAFF, AUDITOR),
          query=AssessmentQuery, returns=Scorecard)
    def scorecard(self, request, community_id, year, query):
        """The five-goods scorecard (五个好) year-to-date at ``at`` (default now): each
        dimension scored 0 to 100 with how it was computed, and the weighted total."""
        year = _year(year)
        self._community(community_id)
        at, facts = self._facts_as_at(community_id, year, query)
        until = _text(at)
        measured = assessment.measured_dimensions(
            facts, at, self.store.calendar(), self.assessment.reported(community_id, until),
            self.assessment.work_on([f["_id"] for f in facts], until))
        card = assessment.scorecard(measured, self.assessment.assessments(community_id, year),
                                    self.assessment.weights())
        return json_response(one(Scorecard).dump({**self._period(community_id, year, at),
                                               **card}))

    @http("PUT", "/scorecards/<community_id>/<year>/assessments/<dimension>",
          allow=ADMIN_ONLY, body=ManualAssessment, returns=ManualAssessmentView)
    def put_assessment(self, request, community_id, year, dimension, body):
        """Record a manual assessment of one dimension, replacing the last one. It is the
        dimension's score where the data cannot measure it (leadership always); beside a
        computed score it is shown, not counted.

            {"score": 85, "note": "Branch meetings held monthly; two cadres trained.",
             "assessor": "Sub-district organisation office"}
        """
        year = _year(year)
        if dimension not in assessment.DIMENSIONS:
            raise NotFound(f"No dimension {dimension!r}; the five are "
                           f"{', '.join(assessment.DIMENSIONS)}.")
        self._community(community_id)
        record = {**body, "recorded_at": _text(now()), "recorded_by": self.caller.sub}
        self.assessment.save_assessment(community_id, year, dimension, record)
        return json_response(one(ManualAssessmentView).dump(
            {"community_id": community_id, "year": year, "dimension": dimension, **record}))

    @http("PUT", "/scorecard-weights", allow=ADMIN_ONLY, body=ScorecardWeights,
          returns=ScorecardWeights)
    def put_scorecard_weights(self, request, body):
        """Weigh the five dimensions in the total (any non-negative numbers; each
        dimension's share is its weight over their sum). Equal until set."""
        self.assessment.save_weights(body)
        return json_response(one(ScorecardWeights).dump(body))

    def _community(self, community_id):
        self._check_subject("community", community_id)
        level, _ = self.store.place(community_id)
        if level != "communities":
            raise NotFound(f"{community_id!r} is a place of level {level}, not a community; "
                           "contracts and scorecards are per community.")

    def _facts_as_at(self, community_id, year, query):
        """The facts of the community's petitions first dispatched in the year up to
        ``at``, as they stood at ``at``."""
        at = query.get("at") or now()
        stored = assessment.dispatched_in(self.evaluation.facts_with("places", community_id),
                                          year, at)
        return at, [assessment.as_at(f, self.evaluation.events_of(f["_id"]), at)
                    for f in stored]

    def _period(self, community_id, year, at):
        start, end = assessment.year_window(year)
        return {"community_id": community_id, "year": year, "at": _text(at),
                "from": _text(start), "to": _text(min(end, at)), "year_complete": at >= end}


def _text(moment):
    return moment.astimezone(UTC).isoformat()


def _year(text):
    """The year in a path: digits only, so a wrong one is a JSON 404 like any other."""
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        raise NotFound(f"No year {text!r}; give a year such as 2026 in the path.")
    return int(text)
