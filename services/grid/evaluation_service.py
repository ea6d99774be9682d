"""The grid service's evaluation entrypoints (考核): it folds the events of each petition
into facts and judges any place, handler or department by them.

    GET  /evaluation/figures?kind=&id=&from=&to=   the three rates, with their trend
    POST /evaluation/rebuild                       refold every petition from the log

The dashboards' gauges of the three rates per grid, community and department are set
from this month's facts (local calendar month) every ``EVALUATION_GAUGES_SECONDS``: read
whole once, then only the facts changed since (``evaluation.MonthTally``).
"""

from functools import partial

from nameko.extensions import DependencyProvider
from prometheus_client import Gauge

from services.grid import evaluation
from services.grid.dispatcher import places_above
from services.grid.evaluation import FOLDED
from services.grid.evaluation_store import EvaluationStore
from services.grid.schemas import Figures, FiguresQuery, Rebuilt
from shared.auth import ADMIN_ONLY, AUDITOR, DEPARTMENT_OFFICER, STAFF
from shared.catalogue import CATALOGUE
from shared.consumers import subscribe_all
from shared.errors import NotFound
from shared.events import data_as_sent, now
from shared.http import http, json_response
from shared.schemas import one
from shared.storage import Storage
from shared.timers import every

# by: grid, community or department; id: which one. A rate with nothing to count has no
# series (rather than a misleading 0).
RATE_LABELS = ["by", "id"]
RATES = {
    "response": Gauge("evaluation_response_rate", "Dispatched petitions acknowledged within "
                      "their time limit, of those first dispatched this month", RATE_LABELS),
    "resolution": Gauge("evaluation_resolution_rate", "Dispatched petitions whose resolution "
                        "stands, of those first dispatched this month", RATE_LABELS),
    "satisfaction": Gauge("evaluation_satisfaction_rate", "Rated petitions whose last rating "
                          "was satisfied, of those first dispatched this month", RATE_LABELS),
}
RATE_BASE = Gauge("evaluation_rate_base", "How many petitions (rounds, for a department) a "
                  "rate is over: dispatched for response and resolution, rated for "
                  "satisfaction", ["rate", *RATE_LABELS])
BASES = {"response": "dispatched", "resolution": "dispatched", "satisfaction": "rated"}


def show_rates(found):
    """Set the gauges from rates keyed (by, id); cleared and set with no I/O between, so
    a scrape sees the old figures or the new, and subjects with nothing left drop out."""
    for gauge in (RATE_BASE, *RATES.values()):
        gauge.clear()
    for (by, id), rates in found.items():
        for rate, gauge in RATES.items():
            if rates[f"{rate}_rate"] is not None:
                gauge.labels(by, id).set(rates[f"{rate}_rate"])
                RATE_BASE.labels(rate, by, id).set(rates[BASES[rate]])


class MonthTallyProvider(DependencyProvider):
    """The process's ``MonthTally``, which the gauges keep between refreshes."""

    def setup(self):
        self.tally = evaluation.MonthTally()

    def get_dependency(self, worker_ctx):
        return self.tally


class Evaluation:
    """Mixed into GridService: the registry it owns places each petition."""

    evaluation = Storage(EvaluationStore)
    month_tally = MonthTallyProvider()

    @subscribe_all(FOLDED)
    def evaluate(self, event):
        entry = self.evaluation.record(event, data_as_sent(CATALOGUE, event))
        self._fold(entry["petition_id"], entry, handled=event.key)

    @http("GET", "/evaluation/figures", allow=(*STAFF, DEPARTMENT_OFFICER, AUDITOR),
          query=FiguresQuery, returns=Figures)
    def figures(self, request, query):
        """The three rates of a place, handler or department, with the counts behind them
        and their trend by week and month."""
        kind, subject_id = query["kind"], query["id"]
        self._check_subject(kind, subject_id)
        facts = self.evaluation.facts_with(evaluation.facts_field(kind), subject_id)
        start, end = (query.get(k) and query[k].isoformat() for k in ("start", "end"))
        found = evaluation.figures(evaluation.units_of(facts, kind, subject_id), start, end)
        return json_response(one(Figures).dump({"kind": kind, "id": subject_id, **found}))

    @http("POST", "/evaluation/rebuild", allow=ADMIN_ONLY, returns=Rebuilt)
    def rebuild(self, request):
        """Fold every petition again from the event log (after a fix to the rules)."""
        petition_ids = self.evaluation.petitions_logged()
        for petition_id in petition_ids:
            self._fold(petition_id)
        return json_response({"petitions": len(petition_ids)})

    @every("EVALUATION_GAUGES_SECONDS", 60)
    def refresh_gauges(self):
        at = now()
        minutes = self.month_tally.minutes_to_read(at)
        if minutes is None:
            self.month_tally.read_whole(
                self.evaluation.facts_with("month", evaluation.month_of(at.isoformat())), at)
        else:
            self.month_tally.changed([facts for minute in minutes
                                      for facts in self.evaluation.facts_changed(minute)], at)
        show_rates(self.month_tally.rates())

    def _check_subject(self, kind, subject_id):
        """Staff see the places wholly within their grids; an officer their department;
        a handler's own figures are for those who see everywhere."""
        caller = self.caller
        if kind in evaluation.PLACE_LEVELS:
            grids = self.store.area(subject_id).grids
            caller.check(caller.everywhere or (grids and set(grids) <= set(caller.grids)),
                         f"every grid of {subject_id}")
            if not grids:
                raise NotFound(f"No place {subject_id!r} in the registry; GET /registry "
                               "lists them.")
        elif kind == "department":
            caller.check(caller.covers_department(subject_id), f"department {subject_id}")
        else:
            caller.check(caller.everywhere, "every handler's figures")

    def _fold(self, petition_id, entry=None, handled=None):
        """Fold ``entry`` (an event as logged) into the petition's facts; with none, fold
        its whole log again."""
        self.evaluation.keep_facts(petition_id, partial(
            evaluation.fold_in, petition_id, event=entry,
            log=partial(self.evaluation.events_of, petition_id), places_of=self._places_above),
            handled)

    def _places_above(self, grid_id):
        return places_above(self.store.grid(grid_id) or {})
