"""The demo city, seeded through the services' own APIs from the source reports' figures.

A county of 4 village communities (one of each type the reports name) in one
sub-district, split into 45 grids under 4 grid workstations, 10,479 households and
24,868 people; each grid has its butler team of eight roles; 270 buildings, 251 of
them with a building head; five volunteer service teams; department budget lines
from the county's community budget (over 2 million yuan a year); the 2026 working
calendar.

The registry is imported from the CSV files in ``deploy/demo-city`` (the format
any city's registry can be imported in), which this module writes:

    python -m tools.demo_city --write-files
"""

import sys
import time
from datetime import date
from pathlib import Path

import requests

from services.grid.calendar import DEMO_CALENDAR
from services.grid.registry import BUTLER_ROLES
from services.grid.registry_files import to_csv
from tools.auth import bearer

FILES = Path(__file__).resolve().parents[1] / "deploy" / "demo-city"

COMMUNITIES = [  # id, name, type, grids
    ("c-hexi", "Hexi", "industrial", 12),
    ("c-nanyuan", "Nanyuan", "agricultural_industry", 11),
    ("c-dongguan", "Dongguan", "suburban", 11),
    ("c-beijie", "Beijie", "market_town", 11),
]
HOUSEHOLDS, POPULATION = 10_479, 24_868
BUILDINGS_PER_GRID, BUILDING_HEADS = 6, 251
TEAMS = {  # id: (name, skills, members)
    "team-drain-repair": ("Drains and repairs team", ["plumbing", "electrics"], 6),
    "team-cleaning": ("Cleaning team", ["cleaning"], 8),
    "team-legal-aid": ("Legal aid team", ["law", "mediation"], 4),
    "team-night-patrol": ("Night patrol team", ["patrol", "fire_safety"], 10),
    "team-elderly-care": ("Elderly care team", ["care"], 6),
}
# id, category, community type, handler, (department, budget line) or None, estimate in fen,
# time limits: acknowledge in working hours, finish in working days
RULES = [
    ("drains", "drains", "*", {"kind": "volunteer_team", "team_id": "team-drain-repair"},
     ("housing", "public_infrastructure"), 30_000, 2, 3),
    ("street-lighting", "street_lighting", "*", {"kind": "volunteer_skill", "skill": "electrics"},
     ("housing", "public_infrastructure"), 15_000, 2, 3),
    ("sanitation", "sanitation", "*", {"kind": "volunteer_team", "team_id": "team-cleaning"},
     ("urban_management", "sanitation"), 8_000, 2, 3),
    ("sanitation-market-towns", "sanitation", "market_town",
     {"kind": "butler_role", "role": "grid_cleaner"}, ("urban_management", "sanitation"), 5_000,
     2, 2),
    ("legal-question", "legal_question", "*",
     {"kind": "butler_role", "role": "legal_service_officer"},
     ("justice", "comprehensive_governance"), 5_000, 2, 3),
    ("neighbour-dispute", "neighbour_dispute", "*",
     {"kind": "butler_role", "role": "mass_work_officer"},
     ("justice", "comprehensive_governance"), 3_000, 2, 13),
    ("safety-hazard", "safety_hazard", "*", {"kind": "volunteer_team", "team_id": "team-night-patrol"},
     ("public_security", "comprehensive_governance"), 5_000, 1, 1),
    ("fire-hazard", "fire_hazard", "*", {"kind": "butler_role", "role": "fire_safety_liaison"},
     ("public_security", "comprehensive_governance"), 5_000, 1, 1),
    ("elderly-care", "elderly_care", "*", {"kind": "volunteer_skill", "skill": "care"},
     ("civil_affairs", "purchased_assistant_services"), 10_000, 2, 3),
    ("unemployment", "unemployment", "*",
     {"kind": "department", "department_id": "human_resources",
      "name": "County human resources and social security bureau"},
     ("human_resources", "training"), 0, 4, 13),
]
BUDGETS_YUAN = {
    ("housing", "public_infrastructure"): 800_000,
    ("urban_management", "sanitation"): 400_000,
    ("justice", "comprehensive_governance"): 200_000,
    ("public_security", "comprehensive_governance"): 300_000,
    ("civil_affairs", "purchased_assistant_services"): 300_000,
    ("human_resources", "training"): 200_000,
}

WELCOME = """
The demo city is running: {communities} communities, {grids} grids, {teams} teams.

  petition   {petition}   grid {grid}   volunteer {volunteer}   funding {funding}
  webhooks   {webhooks}   (the bridge to outside systems)
  logs       {logs}/<service>.log      API docs  <service>/openapi.json

Sign in (demo accounts: admin, auditor, staff-g01, dispatcher, housing-officer,
housing-finance, resident, volunteer; password {password}):

  TOKEN=$(curl -s -X POST {grid}/auth/token -H 'Content-Type: application/json' \\
    -d '{{"grant_type": "password", "username": "admin", "password": "{password}"}}' \\
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
  AUTH="Authorization: Bearer $TOKEN"

Raise a petition (copy and paste):

  curl -s -X POST {petition}/petitions -H "$AUTH" -H 'Content-Type: application/json' -d '{{
    "category": "drains", "attributes": {{"severity": "overflowing"}},
    "description": "The drain outside building 3 overflows when it rains.",
    "location": {{"lat": 30.2741, "lng": 120.1551, "address": "Building 3, Hexi"}},
    "reporter": {{"name": "Wang Fang", "phone": "13800000000"}}}}'

Then, with the id it returns as P:

  curl -s {petition}/petitions/$P/timeline -H "$AUTH"
  curl -s -X POST {volunteer}/tasks/T-$P-1/claim -H "$AUTH" -H 'Content-Type: application/json' \\
       -d '{{"volunteer_id": "team-drain-repair-1"}}'
  curl -s -X POST {volunteer}/tasks/T-$P-1/complete -H "$AUTH" \\
       -H 'Content-Type: application/json' \\
       -d '{{"volunteer_id": "team-drain-repair-1", "hours": 2.5, "cost_fen": 28000}}'
  curl -s -X POST {volunteer}/tasks/T-$P-1/verify -H "$AUTH" -H 'Content-Type: application/json' \\
       -d '{{"verifier_id": "g01-grid_leader", "approved": true}}'
  curl -s {petition}/petitions/$P/timeline -H "$AUTH"
  curl -s {funding}/accounts/centre-c-hexi -H "$AUTH"
  curl -s -X POST {petition}/petitions/$P/follow-up -H "$AUTH" \\
       -H 'Content-Type: application/json' -d '{{"rating": 5, "comment": "Fixed the same day"}}'

Or as a 311 app would (Open311 GeoReport v2; api_key is a token of the hotline's
service account: client id hotline-12345, secret {hotline_secret}):

  curl -s {petition}/open311/v2/services.json
  curl -s -X POST {petition}/open311/v2/requests.json -d "api_key=$TOKEN" -d service_code=drains \\
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
    """The demo county's registry document, in the shape PUT /registry takes."""
    communities, workstations, grids, buildings = [], [], [], []
    grid_count = sum(c[3] for c in COMMUNITIES)
    households, population = split(HOUSEHOLDS, grid_count), split(POPULATION, grid_count)
    number = 0
    for i, (cid, name, type, n) in enumerate(COMMUNITIES, 1):
        first = number
        for _ in range(n):
            number += 1
            grid_id = f"g{number:02d}"
            grids.append({"id": grid_id, "name": f"{name} grid {number - first}",
                          "workstation_id": f"ws-{i}", "households": households[number - 1],
                          "population": population[number - 1], "boundary": boundary(number),
                          "butler_team": {role: [{"id": f"{grid_id}-{role}",
                                                  "name": f"{role.replace('_', ' ')} of {grid_id}"}]
                                          for role in BUTLER_ROLES}})
            shares = zip(split(households[number - 1], BUILDINGS_PER_GRID),
                         split(population[number - 1], BUILDINGS_PER_GRID), strict=True)
            for b, (homes, people) in enumerate(shares, 1):
                building_id = f"{grid_id}-b{b}"
                head = ({"id": f"{building_id}-head", "name": f"head of building {b}, {grid_id}"}
                        if len(buildings) < BUILDING_HEADS else None)
                buildings.append({"id": building_id, "name": f"Building {b}", "grid_id": grid_id,
                                  "households": homes, "population": people, "head": head})
        communities.append({"id": cid, "name": name, "type": type,
                            "sub_district_id": "sd-xiaojianghu",
                            "households": sum(households[first:number]),
                            "population": sum(population[first:number])})
        workstations.append({"id": f"ws-{i}", "name": f"{name} grid workstation",
                             "community_id": cid, "households": None, "population": None})
    return {
        "districts": [{"id": "d-county", "name": "Demo county", "households": None,
                       "population": None}],
        "sub_districts": [{"id": "sd-xiaojianghu", "name": "Xiaojianghu", "kind": "sub_district",
                           "district_id": "d-county", "households": HOUSEHOLDS,
                           "population": POPULATION}],
        "communities": communities, "workstations": workstations, "grids": grids,
        "buildings": buildings,
    }


def files():
    """The registry as CSV files, rows in id order as the grid service exports them."""
    document = {level: sorted(places, key=lambda p: p["id"])
                for level, places in registry().items()}
    return to_csv(document)


def write_files(directory=FILES):
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files().items():
        (directory / name).write_text(text, encoding="utf-8")


def rules():
    return {"rules": [{
        "id": rule_id, "category": category, "community_type": community_type, "area": "*",
        "handler": handler,
        "funding": {"department_id": funding[0], "budget_line": funding[1]} if funding else None,
        "estimate_fen": estimate,
        "acknowledge_within": {"amount": acknowledge, "unit": "working_hours"},
        "finish_within": {"amount": finish, "unit": "working_days"},
    } for rule_id, category, community_type, handler, funding, estimate, acknowledge, finish
        in RULES]}


QUALIFICATIONS = {"electrics": "electrician", "care": "first_aid", "fire_safety": "fire_safety"}
BRANCHES = {  # the morality bank's savings branches (储蓄所)
    "branch-union": ("County trade union branch", "union"),
    "branch-flowers": ("Flower association branch", "association"),
    "branch-school": ("Xiaojianghu school branch", "school"),
}

CATALOGUE = {  # what banked hours can be exchanged for: item id: (name, price in hours)
    "haircut": ("A haircut at the community service centre", 1),
    "home-repair": ("An hour of small home repairs", 1),
    "rice-5kg": ("A 5 kg bag of rice", 3),
    "elderly-visit": ("A home visit for an elderly relative", 2),
}


def volunteers():
    """The members of the five volunteer teams: they serve the whole county, a third are
    party members, and each holds the qualifications their team's skills need."""
    places = registry()
    grids = places["grids"]
    community_of = {w["id"]: w["community_id"] for w in places["workstations"]}
    community = {g["id"]: community_of[g["workstation_id"]] for g in grids}
    branches = list(BRANCHES)
    number = 0
    for team_id, (name, skills, size) in TEAMS.items():
        for n in range(1, size + 1):
            number += 1
            home = grids[number % len(grids)]["id"]
            yield f"{team_id}-{n}", {
                "name": f"{name} member {n}", "trades": skills[:1], "skills": skills,
                "qualifications": [{"kind": QUALIFICATIONS[s], "valid_until": "2027-12-31"}
                                   for s in skills if s in QUALIFICATIONS],
                "availability": [{"day": "sat", "start": "09:00", "end": "17:00"}],
                "home_grid_id": home, "community_id": community[home], "grids": ["*"],
                "party_member": n % 3 == 0, "branch_id": branches[number % len(branches)]}


def teams():
    for team_id, (name, skills, size) in TEAMS.items():
        members = [f"{team_id}-{n}" for n in range(1, size + 1)]
        yield team_id, {"name": name, "leader_id": members[0], "members": members,
                        "skills": skills}


def allocations(year):
    for (department, line), yuan in BUDGETS_YUAN.items():
        yield {"allocation_id": f"demo-{year}-{department}-{line}", "department_id": department,
               "budget_line": line, "fiscal_year": year, "amount_fen": yuan * 100,
               "approved_by": "county finance bureau"}


# Every demo account signs in with this password; a real city sets each one.
DEMO_PASSWORD = "demo-city-2026"
HOTLINE = {"name": "12345 hotline intake", "role": "intake"}


def users():
    """One account per role, to try the permissions: staff of grid g01, the dispatcher of
    its sub-district, an officer and a finance clerk of the housing department."""
    def account(name, role, **scope):
        return {"name": name, "role": role, "password": DEMO_PASSWORD, **scope}

    yield "admin", account("Administrator", "administrator")
    yield "auditor", account("County auditor", "auditor")
    yield "staff-g01", account("Grid g01 staff", "grid_staff", area_id="g01")
    yield "dispatcher", account("Sub-district dispatcher", "dispatcher",
                                area_id="sd-xiaojianghu")
    yield "housing-officer", account("Housing officer", "department_officer",
                                     department_id="housing")
    yield "housing-finance", account("Housing finance", "finance", department_id="housing")
    yield "resident", account("A resident", "resident")
    first_volunteer = next(iter(volunteers()))[0]
    yield "volunteer", account("A volunteer", "volunteer", volunteer_id=first_volunteer)


def seed(urls, timeout=60, progress=None, token=None):
    """Load the demo city, as an administrator (with ``token``, else one minted from the
    signing key); idempotent, so it can run against a platform already seeded.

    ``progress(stage, done, total)`` hears of each step, for a progress bar: each stage
    first with ``done`` 0, then after every step."""
    headers = {"Authorization": f"Bearer {token}"} if token else bearer()
    report = progress or (lambda stage, done, total: None)

    def steps(stage, items):
        items = list(items)
        report(stage, 0, len(items))
        for done, item in enumerate(items, 1):
            yield item
            report(stage, done, len(items))

    def put(url, body, method="PUT"):
        response = requests.request(method, url, json=body, timeout=10, headers=headers)
        response.raise_for_status()
        return response.json()

    files = {path.name: (path.name, path.read_bytes(), "text/csv")
             for path in sorted(FILES.glob("*.csv"))}
    report("registry, calendar and dispatch rules", 0, 3)
    imported = requests.put(f"{urls['grid']}/registry", files=files, timeout=60,
                            headers=headers)
    imported.raise_for_status()
    places = imported.json()
    report("registry, calendar and dispatch rules", 1, 3)
    put(f"{urls['grid']}/calendar", DEMO_CALENDAR.to_document())
    report("registry, calendar and dispatch rules", 2, 3)
    put(f"{urls['grid']}/dispatch-rules", rules())
    report("registry, calendar and dispatch rules", 3, 3)
    for volunteer_id, volunteer in steps("volunteers", volunteers()):
        put(f"{urls['volunteer']}/volunteers/{volunteer_id}", volunteer)
    team_list = list(teams())
    for team_id, team in steps("teams", team_list):
        put(f"{urls['volunteer']}/teams/{team_id}", team)
    bank = [(f"branches/{branch_id}", {"name": name, "kind": kind})
            for branch_id, (name, kind) in BRANCHES.items()]
    bank += [(f"catalogue/{item_id}", {"name": name, "price_hours": price_hours})
             for item_id, (name, price_hours) in CATALOGUE.items()]
    for path, body in steps("morality bank branches and catalogue", bank):
        put(f"{urls['volunteer']}/bank/{path}", body)
    for allocation in steps("budget allocations", allocations(date.today().year)):
        put(f"{urls['funding']}/allocations", allocation, method="POST")
    for username, account in steps("accounts", users()):
        put(f"{urls['grid']}/users/{username}", account)
    hotline = put(f"{urls['grid']}/service-accounts/hotline-12345", HOTLINE)
    deadline = time.monotonic() + timeout
    while (known := len(requests.get(f"{urls['petition']}/grids", timeout=5)
                        .json()["grids"])) < places["grids"]:
        report("grids known to the petition service", known, places["grids"])
        if time.monotonic() > deadline:
            raise RuntimeError("the petition service did not learn the demo grids in time")
        time.sleep(0.2)
    report("grids known to the petition service", places["grids"], places["grids"])
    return {"communities": places["communities"], "grids": places["grids"],
            "teams": len(team_list),
            "hotline_secret": hotline.get("client_secret") or "(shown when it was created; PUT "
                              "/service-accounts/hotline-12345 with renew_secret for a new one)"}


if __name__ == "__main__" and "--write-files" in sys.argv:
    write_files()
    print(f"wrote the demo registry to {FILES}")
