"""The grid service's spot checks (不定期抽查): each week a share of each grid's closed
petitions is drawn, reproducibly, and checked by the grid's livelihood supervisor or the
sub-district's inspection team; an overturn reopens the petition. Rules: spot_checks.py.

    POST /spot-checks/draws                     draw a week now (the timer draws last week)
    GET  /spot-checks/draws?week=&grid_id=      the recorded draws: seed, population, drawn
    GET  /spot-checks?grid_id=&week=&state=     the checks you may see
    GET  /spot-checks/<id>
    POST /spot-checks/<id>/confirm              {"note": "..."}: the outcome stands
    POST /spot-checks/<id>/overturn             {"note": "..."}: the petition reopens
"""

from collections import defaultdict
from datetime import timedelta
from functools import partial

from services.grid import evaluation, spot_checks
from services.grid.schemas import (
    DrawRequest,
    Draws,
    DrawsQuery,
    SpotCheck,
    SpotCheckDecision,
    SpotCheckList,
    SpotChecksQuery,
)
from services.grid.spot_check_store import SpotCheckStore
from shared.auth import ADMINISTRATOR, AUDITOR, DISPATCHER, STAFF, VOLUNTEER
from shared.errors import InvalidFields, NotFound
from shared.events import now
from shared.http import http, json_response
from shared.schemas import one
from shared.storage import Storage
from shared.timers import every

SYSTEM = "system"
# A livelihood supervisor is a resident, who signs in as a volunteer (their person id in
# the butler team is their volunteer_id); inspection teams are staff.
CHECKERS = (*STAFF, VOLUNTEER)


class SpotChecks:
    """Mixed into GridService beside Evaluation: the population is read from the
    evaluation's facts, the checkers from the registry's grids."""

    spot_checks = Storage(SpotCheckStore)

    @every("SPOT_CHECK_SWEEP_SECONDS", 3600)
    def draw_last_week(self):
        """Draw last week in every grid that closed petitions in it, once per grid."""
        week = evaluation.week_of((now() - timedelta(days=7)).isoformat())
        self._draw(week, None, None, SYSTEM, lambda grid_id: True)

    @http("POST", "/spot-checks/draws", allow=(DISPATCHER,), body=DrawRequest, returns=Draws)
    def draw_week(self, request, body):
        """Draw a week now, in one grid or every grid of yours that closed petitions in it,
        optionally with a seed of your choosing. A grid's week is drawn once: drawing it
        again answers the recorded draw (``new`` false)."""
        week, grid_id, caller = body["week"], body["grid_id"], self.caller
        if grid_id:
            caller.check(caller.covers_grid(grid_id), f"grid {grid_id}")
            self._grid(grid_id)
        if spot_checks.week_bounds(week)[0] > now().isoformat():
            raise InvalidFields("That week has not begun.", fields={"week": [
                f"{week} is in the future; draw a week that has begun."]})
        draws = self._draw(week, grid_id, body["seed"], caller.sub, caller.covers_grid)
        return json_response(one(Draws).dump({"week": week, "draws": draws}))

    @http("GET", "/spot-checks/draws", allow=(*STAFF, AUDITOR), query=DrawsQuery, returns=Draws)
    def list_draws(self, request, query):
        """A week's recorded draws, each with the seed and sorted population that repeat it:
        ``random.Random(seed).sample(population, size) == drawn``."""
        caller, grid_id = self.caller, query.get("grid_id")
        if grid_id:
            caller.check(caller.covers_grid(grid_id), f"grid {grid_id}")
        grids = [grid_id] if grid_id else None if caller.everywhere else caller.grids
        return json_response(one(Draws).dump({"week": query["week"],
                                           "draws": self.spot_checks.draws(query["week"], grids)}))

    @http("GET", "/spot-checks", allow=(*CHECKERS, AUDITOR), query=SpotChecksQuery,
          returns=SpotCheckList)
    def list_spot_checks(self, request, query):
        """The checks of your grids, and those assigned to you, oldest first (at most 500)."""
        caller = self.caller
        if "grid_id" in query:
            caller.check(caller.covers_grid(query["grid_id"]) or caller.volunteer_id,
                         f"grid {query['grid_id']}")
        visible = None if caller.everywhere else (caller.grids, caller.volunteer_id)
        found = self.spot_checks.find(query, visible)
        return json_response({"spot_checks": one(SpotCheck, many=True).dump(found)})

    @http("GET", "/spot-checks/<check_id>", allow=(*CHECKERS, AUDITOR), returns=SpotCheck)
    def get_spot_check(self, request, check_id):
        """One check: the petition, its outcome and handler, the checker and the decision."""
        return json_response(one(SpotCheck).dump(self._spot_check(check_id)))

    @http("POST", "/spot-checks/<check_id>/confirm", allow=CHECKERS, body=SpotCheckDecision,
          returns=SpotCheck)
    def confirm_spot_check(self, request, check_id, body):
        """The checker confirms the outcome, saying what they found. Final."""
        return self._decide(check_id, partial(spot_checks.confirm, body["note"]))

    @http("POST", "/spot-checks/<check_id>/overturn", allow=CHECKERS, body=SpotCheckDecision,
          returns=SpotCheck)
    def overturn_spot_check(self, request, check_id, body):
        """The checker overturns the outcome: the petition is reopened with the note as the
        reason and dispatched again, and the round counts against its handler. Final."""
        return self._decide(check_id, partial(spot_checks.overturn, body["note"]))

    def _draw(self, week, only_grid, seed, actor, covers):
        """Draw each grid's week unless it was drawn, and make the checks of each draw (again,
        harmlessly, after a crash between the two writes)."""
        start, end = spot_checks.week_bounds(week)
        closures = defaultdict(dict)
        for facts in self.evaluation.closed_between(start, end, only_grid):
            if covers(facts["grid_id"]):
                closures[facts["grid_id"]][facts["_id"]] = spot_checks.closure(facts)
        policy, at = spot_checks.SpotCheckPolicy.from_config(self.config), now()
        draws = []
        for grid_id, found in sorted(closures.items()):
            grid = self.store.grid(grid_id)
            if grid is None:
                continue  # no longer in the registry: nobody to check it
            recorded, new = self.spot_checks.record_draw(spot_checks.draw(
                grid_id, week, found, seed or spot_checks.new_seed(), policy.share, at, actor))
            for check in spot_checks.checks_of(recorded, grid, policy, at):
                self.spot_checks.add_check(check)
            draws.append({**recorded, "new": new})
        return draws

    def _decide(self, check_id, decide):
        check = self._spot_check(check_id)
        self._check_checker(check)
        saved = self.spot_checks.decide(check_id, partial(decide, self.caller.sub, now(),
                                                          self.correlation_id))
        return json_response(one(SpotCheck).dump(saved))

    def _spot_check(self, check_id):
        """The check, if the caller may see it: staff and auditors of its grid, its checker."""
        check = self.spot_checks.check(check_id)
        if check is None:
            raise NotFound(f"No spot check {check_id!r}; GET /spot-checks lists them.")
        caller = self.caller
        caller.check(caller.covers_grid(check["grid_id"])
                     or check["checker"]["id"] == caller.volunteer_id, f"grid {check['grid_id']}")
        return check

    def _check_checker(self, check):
        """Only the assigned checker decides: the livelihood supervisor named, or staff whose
        scope covers the whole sub-district (its inspection team); or an administrator."""
        caller, checker = self.caller, check["checker"]
        if checker["kind"] == "livelihood_supervisor":
            allowed = caller.is_volunteer(checker["id"])
        else:
            grids = self.store.area(checker["id"].removeprefix("inspection-")).grids
            allowed = caller.role == ADMINISTRATOR or (
                caller.role in STAFF and bool(grids) and set(grids) <= set(caller.grids))
        caller.check(allowed, f"spot check {check['_id']}, which is {checker['name']}'s to decide")
