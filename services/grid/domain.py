"""The grid registry and the dispatcher (派单): who is responsible where.

Places nest district > sub-district > community > grid workstation > grid;
the grid is the unit of dispatch. A dispatch rule maps (category, community
type) to the team that handles the matter and the department whose budget
pays for it ("funds follow the task", 费随事转). When no rule matches, the
matter goes to the grid's own butler team (管家团队): it never falls through.
"""

from datetime import timedelta

from shared import geo
from shared.catalogue import CATALOGUE
from shared.domain import Change
from shared.errors import InvalidFields
from shared.events import new_event

ANY = "*"
COMMUNITY_TYPES = ("urban", "industrial", "agricultural_industry", "suburban", "market_town")

FALLBACK_RULE = {
    "id": "fallback-butler-team",
    "category": ANY,
    "community_type": ANY,
    "handler": {"kind": "butler_team"},
    "funding": None,
    "acknowledge_hours": 24,
    "finish_hours": 72,
}


def check_registry(registry):
    """Every workstation names a known community, every grid a known workstation."""
    problems = {}
    communities = {c["id"] for c in registry["communities"]}
    workstations = {w["id"]: w for w in registry["workstations"]}
    for i, w in enumerate(registry["workstations"]):
        if w["community_id"] not in communities:
            problems.setdefault("workstations", {})[i] = {
                "community_id": [f"Unknown community {w['community_id']!r}; list it under communities."]}
    for i, g in enumerate(registry["grids"]):
        if g["workstation_id"] not in workstations:
            problems.setdefault("grids", {})[i] = {
                "workstation_id": [f"Unknown workstation {g['workstation_id']!r}; "
                                   "list it under workstations."]}
    if problems:
        raise InvalidFields("The registry refers to places it does not define; add them or "
                            "correct the references, then import again.", fields=problems)


def grid_record(grid, workstation, community):
    return {
        "name": grid["name"],
        "workstation_id": workstation["id"],
        "community_id": community["id"],
        "community_type": community["type"],
        "households": grid["households"],
        "population": grid["population"],
        "boundary": geo.to_text(grid["boundary"]),
    }


def register_grid(grid_id, record, current, correlation_id):
    """A new grid or a changed one is announced; re-importing the same data changes nothing."""
    if current is not None and all(current.get(k) == v for k, v in record.items()):
        return None
    revision = (current or {}).get("revision", 0) + 1
    event = new_event(CATALOGUE, "grid.registered.v1", "grid", grid_id,
                      {"grid_id": grid_id, "revision": revision, **record}, correlation_id)
    return Change(set={**record, "revision": revision}, events=[event])


def choose_rule(rules, category, community_type, excluded_teams=()):
    """The most specific matching rule whose team has not returned the petition: an
    exact category beats an exact community type; the grid's butler team is the last resort."""
    def score(rule):
        return (2 * (rule["category"] == category) + (rule["community_type"] == community_type))

    matching = [r for r in rules
                if r["category"] in (category, ANY) and r["community_type"] in (community_type, ANY)
                and r["handler"].get("team_id") not in excluded_teams]
    return max(matching, key=score, default=FALLBACK_RULE)


def dispatch(request, grid, rules, now, cause, previous=None):
    """Decide who handles a petition, who pays and by when; returns the dispatch and its event.

    ``request`` is the petition's acceptance, return (退单) or reopening; ``previous``
    the dispatch of the round before. A returned petition never goes back to a team
    that returned it; a reopened one goes back to the team that handled it.
    """
    excluded = list((previous or {}).get("excluded_teams", []))
    if cause.type == "petition.returned.v1" and previous:
        excluded.append(previous["handler"]["team_id"])
    if cause.type == "petition.reopened.v1" and previous:
        rule = next((r for r in rules if r["id"] == previous["rule_id"]), FALLBACK_RULE)
    else:
        rule = choose_rule(rules, request["category"], grid["community_type"], excluded)
    if rule["handler"]["kind"] == "butler_team":
        handler = {"kind": "butler_team", "team_id": f"butler-{grid['_id']}",
                   "name": f"butler team of grid {grid['name']}"}
    else:
        handler = dict(rule["handler"])
    funding = None
    if rule["funding"]:
        funding = {**rule["funding"], "fiscal_year": now.year,
                   "estimate_fen": rule["estimate_fen"], "centre_id": f"centre-{grid['community_id']}"}
    data = {
        "petition_id": request["petition_id"],
        "grid_id": grid["_id"],
        "community_id": grid["community_id"],
        "category": request["category"],
        "round": request["round"],
        "rule_id": rule["id"],
        "handler": handler,
        "funding": funding,
        "acknowledge_by": now + timedelta(hours=rule["acknowledge_hours"]),
        "due_by": now + timedelta(hours=rule["finish_hours"]),
    }
    event = new_event(CATALOGUE, "petition.dispatched.v1", "grid", request["petition_id"], data,
                      cause.correlationid, cause)
    record = dict(event["data"], _id=dispatch_id(request["petition_id"], request["round"]),
                  dispatched_at=event["time"], excluded_teams=excluded)
    return record, event


def dispatch_id(petition_id, round):
    return f"{petition_id}/{round}"
