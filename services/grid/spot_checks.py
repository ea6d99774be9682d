"""Spot checks (不定期抽查): each week a share of the petitions each grid closed is drawn at
random and given to a checker, who confirms the outcome or overturns it with a note.

The draw can be repeated by anyone: it is ``random.Random(seed).sample(population, size)``
over the sorted ids of the petitions the grid closed in the week (Monday to Sunday,
Asia/Shanghai), and the seed, the population and the size are recorded with it::

    >>> import random
    >>> random.Random("9c1e4d2a7b3f5e60").sample(["P-1", "P-2", "P-3", "P-4"], 1)
    ['P-2']

The seed is fresh for each draw unless the caller gives one (say, a number announced at a
meeting), so nobody knows beforehand which closures will be checked; once recorded, it
proves which were. One draw per grid and week: a week drawn is never drawn again.

The checker is the grid's livelihood supervisor (民生监督员), or the sub-district's
inspection team when the deployment says so, when the grid has none, or when the round
checked was the livelihood supervisor's own work. An overturn reopens the petition and
counts against the handler of the overturned round (see evaluation.py).

Plain Python: nothing here knows of nameko or the database.
"""

import math
import random
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from services.grid.evaluation import LOCAL
from shared.catalogue import CATALOGUE
from shared.domain import Change, settings_from_config
from shared.errors import Conflict
from shared.events import new_event

CHECKERS = ("livelihood_supervisor", "inspection_team")
STATES = ("assigned", "confirmed", "overturned")


@dataclass(frozen=True)
class SpotCheckPolicy:
    """``SPOT_CHECK_SHARE`` (of each grid's closures a week) and ``SPOT_CHECK_CHECKER``."""

    share: float = 0.1
    checker: str = "livelihood_supervisor"

    @classmethod
    def from_config(cls, config):
        policy = settings_from_config(cls, config, "SPOT_CHECK")
        if not 0 < policy.share <= 1 or policy.checker not in CHECKERS:
            raise ValueError(f"SPOT_CHECK_SHARE must be in (0, 1] and SPOT_CHECK_CHECKER one of "
                             f"{', '.join(CHECKERS)}; got {policy.share}, {policy.checker!r}")
        return policy


def week_bounds(week):
    """The week "2026-W47" as [start, end) in UTC ISO text, Monday 00:00 to Monday 00:00
    local time; ValueError if there is no such week."""
    year, number = week.split("-W")
    start = datetime.fromisocalendar(int(year), int(number), 1).replace(tzinfo=LOCAL)
    return tuple(at.astimezone(UTC).isoformat() for at in (start, start + timedelta(days=7)))


def sample_size(share, population):
    """ceil(share x population), at least one of a population that is not empty. Counted in
    decimals: 0.1 x 30 in binary floating point is 3.0000000000000004, whose ceiling is 4."""
    if not population:
        return 0
    return min(population, max(1, math.ceil(Decimal(str(share)) * population)))


def new_seed():
    return secrets.token_hex(8)


def draw_id(grid_id, week):
    return f"{week}-{grid_id}"


def draw(grid_id, week, closures, seed, share, at, actor):
    """The draw of a grid's week from ``closures`` (petition id -> {closed_at, outcome,
    handler}): the record that lets anyone repeat it, with what each check needs."""
    population = sorted(closures)
    size = sample_size(share, len(population))
    drawn = random.Random(seed).sample(population, size)
    return {"_id": draw_id(grid_id, week), "grid_id": grid_id, "week": week, "seed": seed,
            "share": share, "size": size, "population": population, "drawn": drawn,
            "closures": {petition_id: closures[petition_id] for petition_id in drawn},
            "drawn_at": at.isoformat(), "drawn_by": actor}


def repeat(recorded):
    """The petitions a recorded draw's seed picks: its ``drawn``, if it was drawn honestly."""
    return random.Random(recorded["seed"]).sample(recorded["population"], recorded["size"])


def closure(facts):
    """What a check needs to know of a closed petition, from its evaluation facts."""
    rounds = facts["rounds"]
    return {"closed_at": facts["closed"]["at"], "outcome": facts["closed"]["outcome"],
            "handler": rounds[-1]["handler"] if rounds else None}


def check_id(week, petition_id):
    return f"SC-{week}-{petition_id}"


def checks_of(recorded, grid, policy, at):
    """One check per petition drawn, assigned to its checker; a grid with several livelihood
    supervisors has them take the checks in turn."""
    supervisors = (grid.get("butler_team") or {}).get("livelihood_supervisor") or []
    inspection = {"kind": "inspection_team", "id": f"inspection-{grid['sub_district_id']}",
                  "name": f"Inspection team of {grid['sub_district_id']}"}
    checks = []
    for n, petition_id in enumerate(recorded["drawn"]):
        closed = recorded["closures"][petition_id]
        # Nobody checks their own work: a round the supervisor handled goes to the inspectors.
        own_work = (closed["handler"] or "").endswith("/livelihood_supervisor")
        if policy.checker == "inspection_team" or not supervisors or own_work:
            checker = inspection
        else:
            person = supervisors[n % len(supervisors)]
            checker = {"kind": "livelihood_supervisor", "id": person["id"],
                       "name": person["name"]}
        checks.append({"_id": check_id(recorded["week"], petition_id), "draw_id": recorded["_id"],
                       "grid_id": recorded["grid_id"], "week": recorded["week"],
                       "petition_id": petition_id, **closed, "checker": checker,
                       "state": "assigned", "assigned_at": at.isoformat(), "note": None,
                       "decided_by": None, "decided_at": None})
    return checks


# Decisions: each takes its inputs, then the check, and returns a Change.

def confirm(note, decided_by, at, correlation_id, check):  # noqa: ARG001 - one signature for both
    _check_undecided(check)
    return Change(set=_decided("confirmed", note, decided_by, at))


def overturn(note, decided_by, at, correlation_id, check):
    """The outcome was wrong: the petition reopens (the petition service reopens it on this
    event) and the overturned round counts against its handler (the evaluation's fold)."""
    _check_undecided(check)
    event = new_event(CATALOGUE, "spot_check.overturned.v1", "grid", check["petition_id"], {
        "petition_id": check["petition_id"], "actor": check["checker"]["id"], "reason": note,
        "spot_check_id": check["_id"], "grid_id": check["grid_id"]}, correlation_id)
    return Change(set=_decided("overturned", note, decided_by, at), events=[event])


def _check_undecided(check):
    if check["state"] != "assigned":
        then = ("the petition was reopened; follow it with GET /petitions/"
                f"{check['petition_id']}/timeline" if check["state"] == "overturned" else
                "the outcome stands; a resident who disagrees may raise a new petition")
        raise Conflict(f"Spot check {check['_id']} was {check['state']} by {check['decided_by']} "
                       f"at {check['decided_at']}, and a decision is final: {then}.",
                       details={"state": check["state"]})


def _decided(state, note, decided_by, at):
    return {"state": state, "note": note, "decided_by": decided_by, "decided_at": at.isoformat()}
