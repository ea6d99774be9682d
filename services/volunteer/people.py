"""Volunteers, the teams they serve in, and party members reporting to the community.

A volunteer is registered with skills by trade, qualifications that expire,
availability, home grid and community, the grids they serve, their morality bank
branch, and whether they are a party member. A service team has a leader,
members and the skills it covers. A grid's butler team (管家团队) is not
registered here: it follows the grid registry, role by role.

In-service party members report to the community (在职党员到社区报到): each report
is kept, with where and when, and counts in the community's figures.
"""

from shared.catalogue import CATALOGUE
from shared.domain import Change
from shared.errors import Forbidden, InvalidFields
from shared.events import new_event


def volunteer_record(volunteer_id, request):
    """What is stored of a volunteer; the grids served default to the home grid."""
    return {**request, "grids": request.get("grids") or [request["home_grid_id"]],
            "qualifications": [{**q, "valid_until": q["valid_until"].isoformat()}
                               for q in request["qualifications"]],
            "branch_id": request.get("branch_id") or f"branch-{request['community_id']}",
            "staff": False}


def check_team(team, known_volunteers):
    """A team's leader and members are registered volunteers; the leader is a member."""
    problems = {}
    unknown = [m for m in team["members"] if m not in known_volunteers]
    if unknown:
        problems["members"] = [f"Not registered: {', '.join(unknown)}; register them with "
                               "PUT /volunteers/<id> first."]
    if team["leader_id"] not in team["members"]:
        problems["leader_id"] = ["The leader must be one of the members."]
    if problems:
        raise InvalidFields("The team names people it cannot have.", fields=problems)


def register_team(team_id, team, correlation_id, current):
    """A new or changed team is announced, so the dispatcher knows its skills;
    re-registering the same team changes nothing."""
    if current is not None and all(current.get(k) == v for k, v in team.items()):
        return None
    event = new_event(CATALOGUE, "team.registered.v1", "volunteer", team_id, {
        "team_id": team_id, "name": team["name"], "kind": team["kind"], "skills": team["skills"],
    }, correlation_id)
    return Change(set=dict(team), events=[event])


def butler_team(grid):
    """The grid's butler team as the registry names it: its people are staff, the grid
    leader leads it, and each role is kept so a task for one role goes to its holders."""
    roles = {role: [p["id"] for p in people] for role, people in grid["butler_team"].items()}
    members = sorted({p for ids in roles.values() for p in ids})
    team = {"name": f"Butler team of grid {grid['name']}", "kind": "butler_team",
            "leader_id": (roles.get("grid_leader") or [None])[0], "members": members,
            "roles": roles, "skills": [], "grid_id": grid["grid_id"]}
    staff = [{"_id": p["id"], "name": p["name"], "skills": [], "trades": [],
              "qualifications": [], "availability": [], "home_grid_id": grid["grid_id"],
              "community_id": grid["community_id"], "grids": [grid["grid_id"]],
              "party_member": False, "branch_id": f"branch-{grid['community_id']}",
              "staff": True}
             for people in grid["butler_team"].values() for p in people]
    return team, staff


def report_to_community(report_id, volunteer, request, now, correlation_id):
    """A party member reports (报到): shows their identity and is counted by the community."""
    if not volunteer["party_member"]:
        raise Forbidden(f"{volunteer['_id']} is not registered as a party member; reporting to "
                        "the community is for in-service party members.")
    if not request["shows_identity"]:
        raise InvalidFields("Reporting means showing one's identity as a party member (亮身份).",
                            fields={"shows_identity": ["Set it to true to report."]})
    event = new_event(CATALOGUE, "volunteer.reported.v1", "volunteer", report_id, {
        "report_id": report_id, "volunteer_id": volunteer["_id"],
        "community_id": request["community_id"]}, correlation_id)
    record = {"_id": report_id, "volunteer_id": volunteer["_id"], "name": volunteer["name"],
              "community_id": request["community_id"], "at": now.isoformat(),
              "note": request.get("note")}
    return record, [event]
