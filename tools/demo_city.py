"""The demo city, seeded through the services' own APIs from the source reports' figures.

A county of 4 village communities (one of each type the reports name) split
into 45 grids under 4 grid workstations, 10,479 households and 24,868 people;
each grid has its butler team of eight roles; five volunteer service teams;
department budget lines from the county's community budget (over 2 million
yuan a year).
"""

import time
from datetime import date

import requests

COMMUNITIES = [  # id, name, type, grids
    ("c-hexi", "Hexi", "industrial", 12),
    ("c-nanyuan", "Nanyuan", "agricultural_industry", 11),
    ("c-dongguan", "Dongguan", "suburban", 11),
    ("c-beijie", "Beijie", "market_town", 11),
]
HOUSEHOLDS, POPULATION = 10_479, 24_868
BUTLER_ROLES = ("grid_leader", "grid_assistant", "area_police_officer", "fire_safety_liaison",
                "legal_service_officer", "mass_work_officer", "livelihood_supervisor",
                "grid_cleaner")
TEAMS = {  # id: (name, skills, members)
    "team-drain-repair": ("Drains and repairs team", ["plumbing", "electrics"], 6),
    "team-cleaning": ("Cleaning team", ["cleaning"], 8),
    "team-legal-aid": ("Legal aid team", ["law", "mediation"], 4),
    "team-night-patrol": ("Night patrol team", ["patrol", "fire_safety"], 10),
    "team-elderly-care": ("Elderly care team", ["care"], 6),
}
# category: (team or None for the grid's butler team, department, budget line, estimate in fen)
RULES = {
    "drains": ("team-drain-repair", "housing", "public_infrastructure", 30_000),
    "street_lighting": ("team-drain-repair", "housing", "public_infrastructure", 15_000),
    "sanitation": ("team-cleaning", "urban_management", "sanitation", 8_000),
    "legal_question": ("team-legal-aid", "justice", "comprehensive_governance", 5_000),
    "neighbour_dispute": (None, "justice", "comprehensive_governance", 3_000),
    "safety_hazard": ("team-night-patrol", "public_security", "comprehensive_governance", 5_000),
    "fire_hazard": ("team-night-patrol", "public_security", "comprehensive_governance", 5_000),
    "elderly_care": ("team-elderly-care", "civil_affairs", "purchased_assistant_services", 10_000),
}
BUDGETS_YUAN = {
    ("housing", "public_infrastructure"): 800_000,
    ("urban_management", "sanitation"): 400_000,
    ("justice", "comprehensive_governance"): 200_000,
    ("public_security", "comprehensive_governance"): 300_000,
    ("civil_affairs", "purchased_assistant_services"): 300_000,
}

WELCOME = """
The demo city is running: {communities} communities, {grids} grids, {teams} teams.

  petition   {petition}   grid {grid}   volunteer {volunteer}   funding {funding}
  logs       {logs}/<service>.log      metrics  <service>/metrics

Raise a petition (copy and paste):

  curl -s -X POST {petition}/petitions -H 'Content-Type: application/json' -d '{{
    "category": "drains", "attributes": {{"severity": "overflowing"}},
    "description": "The drain outside building 3 overflows when it rains.",
    "location": {{"lat": 30.2741, "lng": 120.1551, "address": "Building 3, Hexi"}},
    "reporter": {{"name": "Wang Fang", "phone": "13800000000"}}}}'

Then, with the id it returns as P:

  curl -s {petition}/petitions/$P/timeline
  curl -s -X POST {volunteer}/tasks/T-$P-1/claim -H 'Content-Type: application/json' \\
       -d '{{"volunteer_id": "team-drain-repair-1"}}'
  curl -s -X POST {volunteer}/tasks/T-$P-1/complete -H 'Content-Type: application/json' \\
       -d '{{"volunteer_id": "team-drain-repair-1", "hours": 2.5, "cost_fen": 28000}}'
  curl -s {petition}/petitions/$P/timeline
  curl -s {funding}/accounts/centre-c-hexi
  curl -s -X POST {petition}/petitions/$P/follow-up -H 'Content-Type: application/json' \\
       -d '{{"rating": 5, "comment": "Fixed the same day"}}'

Or as a 311 app would (Open311 GeoReport v2):

  curl -s {petition}/open311/v2/services.json
  curl -s -X POST {petition}/open311/v2/requests.json -d service_code=drains \\
       -d lat=30.2761 -d long=120.1571 -d 'description=Blocked drain' -d 'attribute[severity]=blocked'

Ctrl-C stops the services.
"""


# The grids tile a rectangle, nine to a row, from the south-west corner; each cell is
# about 220 m by 190 m (a social-governance grid of some 230 households).
ORIGIN = (30.2735, 120.1545)  # lat, lng
CELL = 0.002
PER_ROW = 9


def cell(number):
    """The south-west corner of grid ``number`` (1-based)."""
    row, col = divmod(number - 1, PER_ROW)
    return ORIGIN[0] + row * CELL, ORIGIN[1] + col * CELL


def boundary(number):
    lat, lng = cell(number)
    ring = [[lng, lat], [lng + CELL, lat], [lng + CELL, lat + CELL], [lng, lat + CELL], [lng, lat]]
    return {"type": "Polygon", "coordinates": [[[round(x, 6) for x in p] for p in ring]]}


def point_in(number, east=0.3, north=0.3):
    """A point inside grid ``number``, as a petition location."""
    lat, lng = cell(number)
    return {"lat": round(lat + north * CELL, 6), "lng": round(lng + east * CELL, 6)}


def split(total, parts):
    share, rest = divmod(total, parts)
    return [share + (i < rest) for i in range(parts)]


def registry():
    communities, workstations, grids = [], [], []
    grid_count = sum(c[3] for c in COMMUNITIES)
    households, population = split(HOUSEHOLDS, grid_count), split(POPULATION, grid_count)
    number = 0
    for i, (cid, name, type, n) in enumerate(COMMUNITIES, 1):
        first = number
        for _ in range(n):
            number += 1
            grids.append({"id": f"g{number:02d}", "name": f"{name} grid {number - first}",
                          "workstation_id": f"ws-{i}", "households": households[number - 1],
                          "population": population[number - 1], "boundary": boundary(number)})
        communities.append({"id": cid, "name": name, "type": type,
                            "sub_district": "Xiaojianghu sub-district",
                            "households": sum(households[first:number]),
                            "population": sum(population[first:number])})
        workstations.append({"id": f"ws-{i}", "name": f"{name} grid workstation",
                             "community_id": cid})
    return {"communities": communities, "workstations": workstations, "grids": grids}


def rules():
    table = []
    for category, (team, department, line, estimate) in RULES.items():
        handler = ({"kind": "volunteer_team", "team_id": team, "name": TEAMS[team][0]}
                   if team else {"kind": "butler_team"})
        table.append({"id": f"rule-{category}", "category": category, "community_type": "*",
                      "handler": handler,
                      "funding": {"department_id": department, "budget_line": line},
                      "estimate_fen": estimate, "acknowledge_hours": 4, "finish_hours": 72})
    return {"rules": table}


def teams(grid_ids):
    for team_id, (name, skills, size) in TEAMS.items():
        yield team_id, {"name": name, "kind": "volunteer_team", "skills": skills, "members": [
            {"id": f"{team_id}-{n}", "name": f"{name} member {n}", "skills": skills,
             "party_member": n % 3 == 0} for n in range(1, size + 1)]}
    for grid_id in grid_ids:
        yield f"butler-{grid_id}", {"name": f"Butler team of grid {grid_id}", "kind": "butler_team",
                                    "members": [{"id": f"{grid_id}-{role}", "name": role}
                                                for role in BUTLER_ROLES]}


def allocations(year):
    for (department, line), yuan in BUDGETS_YUAN.items():
        yield {"allocation_id": f"demo-{year}-{department}-{line}", "department_id": department,
               "budget_line": line, "fiscal_year": year, "amount_fen": yuan * 100,
               "approved_by": "county finance bureau"}


def seed(urls, timeout=60):
    """Load the demo city; idempotent, so it can run against a platform already seeded."""
    def put(url, body, method="PUT"):
        response = requests.request(method, url, json=body, timeout=10)
        response.raise_for_status()

    places = registry()
    put(f"{urls['grid']}/registry", places)
    put(f"{urls['grid']}/dispatch-rules", rules())
    team_list = list(teams([g["id"] for g in places["grids"]]))
    for team_id, team in team_list:
        put(f"{urls['volunteer']}/teams/{team_id}", team)
    for allocation in allocations(date.today().year):
        put(f"{urls['funding']}/allocations", allocation, method="POST")
    deadline = time.monotonic() + timeout
    while len(requests.get(f"{urls['petition']}/grids", timeout=5).json()["grids"]) < len(places["grids"]):
        if time.monotonic() > deadline:
            raise RuntimeError("the petition service did not learn the demo grids in time")
        time.sleep(0.2)
    return {"communities": len(places["communities"]), "grids": len(places["grids"]),
            "teams": len(team_list)}
