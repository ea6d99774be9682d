"""The grid registry and the dispatcher (派单): who is responsible where.

Places nest district > sub-district > community > grid workstation > grid;
the grid is the unit of dispatch. A dispatch rule maps (category, community
type) to the team that handles the matter and the department whose budget
pays for it ("funds follow the task", 费随事转). When no rule matches, the
matter goes to the grid's own butler team (管家团队): it never falls through.
"""

from datetime import timedelta

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
    }


def register_grid(grid_id, record, current, correlation_id):
    """A new grid or a changed one is announced; re-importing the same data changes nothing."""
    if current is not None and all(current.get(k) == v for k, v in record.items()):
        return None
    revision = (current or {}).get("revision", 0) + 1
    event = new_event(CATALOGUE, "grid.registered.v1", "grid", grid_id,
                      {"grid_id": grid_id, "revision": revision, **record}, correlation_id)
    return Change(set={**record, "revision": revision}, events=[event])


def choose_rule(rules, category, community_type):
    """The most specific matching rule: an exact category beats an exact community type."""
    def score(rule):
        return (2 * (rule["category"] == category) + (rule["community_type"] == community_type))

    matching = [r for r in rules
                if r["category"] in (category, ANY) and r["community_type"] in (community_type, ANY)]
    return max(matching, key=score, default=FALLBACK_RULE)


def dispatch(petition, grid, rules, now, cause):
    """Decide who handles a raised petition, who pays, and by when; returns the dispatch and its event."""
    rule = choose_rule(rules, petition["category"], grid["community_type"])
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
        "petition_id": petition["petition_id"],
        "grid_id": grid["_id"],
        "community_id": grid["community_id"],
        "category": petition["category"],
        "rule_id": rule["id"],
        "handler": handler,
        "funding": funding,
        "acknowledge_by": now + timedelta(hours=rule["acknowledge_hours"]),
        "due_by": now + timedelta(hours=rule["finish_hours"]),
    }
    event = new_event(CATALOGUE, "petition.dispatched.v1", "grid", petition["petition_id"], data,
                      cause.correlationid, cause)
    record = dict(event["data"], _id=petition["petition_id"], dispatched_at=event["time"])
    return record, event
