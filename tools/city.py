"""A city-sized history, written straight into each service's own database.

    python -m tools.city --grids 20000 --volunteers 200000 --petitions 1000000 \
        [--prefix PREFIX] [--seed 1]

The city repeats the demo county's make-up (tools/demo_city.py, from the source
reports): grids of some 230 households under one grid workstation per community,
eleven grids to a community (the demo's 45 in 4), eight communities to a
sub-district (小江湖办事处辖8个社区居委会), twelve sub-districts to a district;
every grid has its butler team of eight roles; each sub-district has the demo's five
volunteer teams, among which the volunteers are shared out; the departments' budget
lines are the demo's, scaled to the city, for every fiscal year of the history.

The petitions are two years of history up to 2026-11-01: raised in any grid at any
hour, dispatched by the demo's rules (each team rule given to the sub-district's own
team), their estimates held, their tasks claimed (most within the time limit),
completed and verified, the cost captured, rated by most residents and closed; those
of the last four days are still being handled. Every document is what the services'
own domain functions make of that history, saved in the shape their stores save it
(``aggregate`` and ``changed`` below mirror shared/storage.py; tests/unit/test_city.py
holds them to it), and the funding store totals the days itself.

This is a historical import: NO event is published. The events the domain functions
make are applied where their consumers would have applied them (the petition's
timeline, the tasks, the ledger, the grid copies) and then dropped: every outbox is
empty. Event ids and times come from the history's own seeded clock, so the same seed
writes the same data.
"""

import argparse
import math
import queue
import random
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from pymongo import MongoClient

import shared.events
from services.funding import domain as funding
from services.funding.store import FundingStore
from services.grid import registry as places
from services.grid.calendar import DEMO_CALENDAR
from services.grid.store import GridStore
from services.petition import categories
from services.petition import domain as petitions
from services.petition.schemas import FollowUp, RaisePetition
from services.petition.store import PetitionStore, grid_copy, with_keys
from services.volunteer import domain as tasks
from services.volunteer import people
from services.volunteer.schemas import Completion, Team, Verification, Volunteer
from services.volunteer.store import VolunteerStore
from shared import geo
from shared.catalogue import CATALOGUE
from shared.events import Event, new_event
from shared.ledger import guard_key, self_guarded, with_accounts
from shared.sealing import Sealer
from tools import demo_city

GRIDS_PER_COMMUNITY = 11
COMMUNITIES_PER_SUB_DISTRICT = 8
SUB_DISTRICTS_PER_DISTRICT = 12
UNTIL = datetime(2026, 11, 1, tzinfo=UTC)
HISTORY = timedelta(days=730)
STILL_OPEN = timedelta(days=4)
BATCH = 1000
POLICY = petitions.Policy()
TASK_POLICY = tasks.TaskPolicy()
TYPES = [community[2] for community in demo_city.COMMUNITIES]
# How often residents raise each category (of 100), and how they rate the work (of 20).
CATEGORY_WEIGHTS = {"drains": 18, "street_lighting": 12, "sanitation": 22, "legal_question": 8,
                    "neighbour_dispute": 10, "safety_hazard": 8, "fire_hazard": 5,
                    "elderly_care": 10, "unemployment": 7}
RATINGS = [5] * 10 + [4] * 5 + [3] * 2 + [2] * 2 + [1]
CHANNELS = petitions.CHANNELS


def attributes(category):
    """What a resident answers to the category's required questions: the first choice."""
    definition = next(c for c in categories.DEFAULT_CATEGORIES if c["_id"] == category)
    answers = {a["code"]: (a["values"][0]["key"] if a["datatype"] == "singlevaluelist"
                           else [a["values"][0]["key"]])
               for a in definition["attributes"] if a["required"]}
    return categories.check_attributes(definition, answers)


# Made once: a marshmallow schema deep-copies its fields each time one is made.
SCHEMAS = {schema.__name__: schema() for schema in (RaisePetition, Completion, Verification,
                                                    FollowUp)}
ATTRIBUTES = {category: attributes(category) for category in CATEGORY_WEIGHTS}


def ids(grids):
    """How many places of each level a city of ``grids`` grids has."""
    communities = math.ceil(grids / GRIDS_PER_COMMUNITY)
    sub_districts = math.ceil(communities / COMMUNITIES_PER_SUB_DISTRICT)
    return communities, sub_districts, math.ceil(sub_districts / SUB_DISTRICTS_PER_DISTRICT)


def registry(grids, rng):
    """The city's registry document, in the shape PUT /registry takes (no buildings)."""
    n_communities, n_sub_districts, n_districts = ids(grids)
    per_row = math.ceil(math.sqrt(grids))
    households = demo_city.HOUSEHOLDS / 45
    people_per_home = demo_city.POPULATION / demo_city.HOUSEHOLDS
    city = {"districts": [{"id": f"d{d:02d}", "name": f"District {d}", "households": None,
                           "population": None} for d in range(1, n_districts + 1)],
            "sub_districts": [{"id": f"sd{s:03d}", "name": f"Sub-district {s}",
                               "kind": "sub_district",
                               "district_id": f"d{(s - 1) // SUB_DISTRICTS_PER_DISTRICT + 1:02d}",
                               "households": None, "population": None}
                              for s in range(1, n_sub_districts + 1)],
            "communities": [], "workstations": [], "grids": [], "buildings": []}
    for c in range(1, n_communities + 1):
        community = f"c{c:04d}"
        city["communities"].append({
            "id": community, "name": f"Community {c}", "type": TYPES[c % len(TYPES)],
            "sub_district_id": f"sd{(c - 1) // COMMUNITIES_PER_SUB_DISTRICT + 1:03d}",
            "households": None, "population": None})
        city["workstations"].append({"id": f"ws{c:04d}", "name": f"Community {c} grid workstation",
                                     "community_id": community, "households": None,
                                     "population": None})
    for g in range(1, grids + 1):
        grid_id, row, col = f"g{g:05d}", *divmod(g - 1, per_row)
        homes = int(households * rng.uniform(0.7, 1.3))
        lat, lng = demo_city.ORIGIN[0] + row * demo_city.CELL, demo_city.ORIGIN[1] + col * demo_city.CELL
        cell = demo_city.CELL
        ring = [[lng, lat], [lng + cell, lat], [lng + cell, lat + cell], [lng, lat + cell],
                [lng, lat]]
        city["grids"].append({
            "id": grid_id, "name": f"Grid {g}",
            "workstation_id": f"ws{(g - 1) // GRIDS_PER_COMMUNITY + 1:04d}",
            "households": homes, "population": round(homes * people_per_home),
            "boundary": {"type": "Polygon",
                         "coordinates": [[[round(x, 6) for x in p] for p in ring]]},
            "butler_team": {role: [{"id": f"{grid_id}-{role}",
                                    "name": f"{role.replace('_', ' ')} of {grid_id}"}]
                            for role in places.BUTLER_ROLES}})
    return city


def rules(sub_districts):
    """The demo's dispatch rules, each naming a team given to every sub-district's own team."""
    found = []
    for rule in demo_city.rules()["rules"]:
        handler = rule["handler"]
        if handler["kind"] not in ("volunteer_team", "volunteer_skill"):
            found.append(rule)
            continue
        kind = handler.get("team_id") or TEAM_WITH_SKILL[handler["skill"]]
        found += [{**rule, "id": f"{rule['id']}-{sd}", "area": sd,
                   "handler": {"kind": "volunteer_team", "team_id": f"{kind}-{sd}"}}
                  for sd in sub_districts]
    return found


TEAM_WITH_SKILL = {"electrics": "team-drain-repair", "care": "team-elderly-care"}


# The shapes the stores write (shared/storage.py, AggregateCollection)

def aggregate(doc, handled=None):
    """A document as AggregateCollection.create saves it, its events already relayed."""
    return dict(doc, version=1, outbox=[], outbox_pending=False,
                handled=[handled] if handled else [])


def changed(doc, change, handled=None):
    """``doc`` after AggregateCollection.change saved ``change``, its events relayed."""
    doc.update(change.set)
    for name, values in change.push.items():
        doc[name] = doc.get(name, []) + list(values)
    if handled:
        doc["handled"] = doc["handled"] + [handled]
    doc["version"] += 1
    return doc


def received(envelope, data=None):
    """An event as its consumer receives it; ``data`` when it carries times."""
    return Event(id=envelope["id"], source=envelope["source"], type=envelope["type"],
                 subject=envelope["subject"], time=datetime.fromisoformat(envelope["time"]),
                 correlationid=envelope["correlationid"], causationid=envelope["causationid"],
                 data=data or envelope["data"])


class History:
    """The seeded clock and ids events are made with while the history is written."""

    def __init__(self, seed):
        self.at = UNTIL
        self.ids = random.Random(seed)

    @contextmanager
    def running(self):
        saved = shared.events.now, shared.events.uuid
        shared.events.now = lambda: self.at
        shared.events.uuid = self
        try:
            yield self
        finally:
            shared.events.now, shared.events.uuid = saved

    def uuid4(self):
        return uuid.UUID(int=self.ids.getrandbits(128), version=4)

    def __call__(self, at):
        self.at = at
        return at


class Writer:
    """insert_many in batches, on a thread of its own, while the next documents are made."""

    def __init__(self, databases):
        self.databases, self.pending, self.queue = databases, {}, queue.Queue(maxsize=8)
        self.counts, self.failed = {}, None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def add(self, service, collection, doc):
        batch = self.pending.setdefault((service, collection), [])
        batch.append(doc)
        if len(batch) >= BATCH:
            self.flush(service, collection)

    def flush(self, service, collection):
        batch = self.pending.pop((service, collection), [])
        if batch:
            self.queue.put((service, collection, batch))
        if self.failed:
            raise self.failed

    def close(self):
        for service, collection in list(self.pending):
            self.flush(service, collection)
        self.queue.put(None)
        self.thread.join()
        if self.failed:
            raise self.failed
        return self.counts

    def _run(self):
        while (item := self.queue.get()) is not None:
            service, collection, batch = item
            try:
                self.databases[service][collection].insert_many(batch, ordered=False)
            except Exception as error:  # noqa: BLE001 - reported by the generating thread
                self.failed = error
            key = f"{service}.{collection}"
            self.counts[key] = self.counts.get(key, 0) + len(batch)


def progress(stage, done, total, started):
    rate = done / max(time.monotonic() - started, 1e-6)
    print(f"\r[city] {stage}: {done:,}/{total:,} ({rate:,.0f}/s)", end="", file=sys.stderr,
          flush=True)
    if done == total:
        print(file=sys.stderr, flush=True)


def generate(databases, grids, volunteers, petitions_count, seed, seal_keys):
    """Write the city into ``databases`` (service name -> pymongo Database); returns what
    was written, collection by collection."""
    rng = random.Random(seed)
    history = History(seed)
    sealer = Sealer(seal_keys)
    stores = {"grid": GridStore, "petition": PetitionStore, "volunteer": VolunteerStore,
              "funding": FundingStore}
    for service, store in stores.items():
        store(databases[service]).ensure_indexes()
    city = registry(grids, rng)
    if volunteers < len(demo_city.TEAMS) * len(city["sub_districts"]):
        raise ValueError(f"{len(city['sub_districts'])} sub-districts need at least "
                         f"{len(demo_city.TEAMS) * len(city['sub_districts'])} volunteers, one "
                         "for each of their teams")
    writer = Writer(databases)
    with history.running():
        history(UNTIL - HISTORY - timedelta(days=30))
        grid_docs, team_docs = write_registry(city, databases, writer, history)
        members, volunteer_docs = write_volunteers(city, volunteers, writer, rng, team_docs)
        write_petitions(petitions_count, grid_docs, team_docs, members, volunteer_docs, writer,
                        rng, history, sealer, databases)
    written = writer.close()
    GridStore(databases["grid"]).teams_changed()  # a running dispatcher reads them again
    return written


def write_registry(city, databases, writer, history):
    grid_store = GridStore(databases["grid"])
    grid_store.save_places(city)
    grid_store.save_calendar(DEMO_CALENDAR)
    grid_store.replace_rules(rules([sd["id"] for sd in city["sub_districts"]]))
    grid_docs, team_docs = {}, {}
    started = time.monotonic()
    records = list(places.grid_records(city))
    for done, (grid_id, record) in enumerate(records, 1):
        change = places.register_grid(grid_id, record, None, "city")
        writer.add("grid", "grids", aggregate({"_id": grid_id, **change.set,
                                               "tiles": geo.tiles(change.set["boundary"])}))
        data = change.events[0]["data"]
        copy = {"_id": grid_id, **grid_copy(data)}
        writer.add("petition", "grids", copy)
        grid_docs[grid_id] = copy
        team, staff = people.butler_team(data)
        team_id = f"butler-{grid_id}"
        team_docs[team_id] = aggregate(
            {"_id": team_id, **people.register_team(team_id, team, "city", None).set})
        for person in staff:
            writer.add("volunteer", "volunteers", {**person, "open_claims": 0})
        if done % 2000 == 0 or done == len(records):
            progress("grids", done, len(records), started)
    return grid_docs, team_docs


def write_volunteers(city, count, writer, rng, team_docs):
    """The volunteers, shared out among their sub-district's five teams; the teams."""
    sub_districts = [sd["id"] for sd in city["sub_districts"]]
    grids_of = {}
    community_of = {w["id"]: w["community_id"] for w in city["workstations"]}
    sub_district_of = {c["id"]: c["sub_district_id"] for c in city["communities"]}
    for grid in city["grids"]:
        community = community_of[grid["workstation_id"]]
        grids_of.setdefault(sub_district_of[community], []).append((grid["id"], community))
    kinds = list(demo_city.TEAMS)
    members, docs = {}, {}
    for n in range(count):
        sd = sub_districts[n % len(sub_districts)]
        kind = kinds[n // len(sub_districts) % len(kinds)]
        name, skills, _ = demo_city.TEAMS[kind]
        home, community = rng.choice(grids_of[sd])
        volunteer_id = f"v{n + 1:06d}"
        body = Volunteer().load({
            "name": f"{name} member {n + 1}", "trades": skills[:1], "skills": skills,
            "qualifications": [{"kind": demo_city.QUALIFICATIONS[s], "valid_until": "2027-12-31"}
                               for s in skills if s in demo_city.QUALIFICATIONS],
            "availability": [{"day": "sat", "start": "09:00", "end": "17:00"}],
            "home_grid_id": home, "community_id": community, "grids": ["*"],
            "party_member": n % 3 == 0})
        docs[volunteer_id] = {"_id": volunteer_id, **people.volunteer_record(volunteer_id, body),
                              "open_claims": 0}
        members.setdefault(f"{kind}-{sd}", []).append(volunteer_id)
    for sd in sub_districts:
        for kind in kinds:
            team_id = f"{kind}-{sd}"
            if team_id not in members:
                continue
            name, skills, _ = demo_city.TEAMS[kind]
            team = {**Team().load({"name": f"{name}, {sd}", "leader_id": members[team_id][0],
                                   "members": members[team_id], "skills": skills}), "roles": {}}
            team_docs[team_id] = aggregate(
                {"_id": team_id, **people.register_team(team_id, team, "city", None).set})
    for team_id, team in team_docs.items():
        writer.add("volunteer", "teams", team)
        writer.add("grid", "teams", {"_id": team_id, "name": team["name"], "kind": team["kind"],
                                     "skills": team["skills"]})
    return members, docs


def write_petitions(count, grid_docs, team_docs, members, volunteer_docs, writer, rng, history,
                    sealer, databases):
    grid_ids = sorted(grid_docs)
    by_category = {}
    for rule in demo_city.rules()["rules"]:
        by_category.setdefault(rule["category"], []).append(rule)
    weights = list(CATEGORY_WEIGHTS.values())
    years = range((UNTIL - HISTORY).year, UNTIL.year + 1)
    n_grids = len(grid_ids)
    ledger = Ledger(writer)
    for year in years:
        for (department, line), yuan in demo_city.BUDGETS_YUAN.items():
            history(datetime(year, 1, 1, tzinfo=UTC) if year > years[0] else UNTIL - HISTORY)
            ledger.post(funding.allocate({
                "allocation_id": f"city-{year}-{department}-{line}", "department_id": department,
                "budget_line": line, "fiscal_year": year,
                "amount_fen": yuan * 100 * max(1, n_grids // 45) * 4,
                "approved_by": "city finance bureau"}, history.at))
    started = time.monotonic()
    for n in range(count):
        grid = grid_docs[grid_ids[rng.randrange(n_grids)]]
        category = rng.choices(list(CATEGORY_WEIGHTS), weights)[0]
        rule = next(r for r in reversed(by_category[category])
                    if r["community_type"] in ("*", grid["community_type"]))
        life = Life(n, grid, rule, rng, history, team_docs, members, volunteer_docs, ledger,
                    sealer)
        petition, task = life.run()
        writer.add("petition", "petitions", with_keys(petition))
        if task:
            writer.add("volunteer", "tasks", task)
        if (n + 1) % 5000 == 0 or n + 1 == count:
            progress("petitions", n + 1, count, started)
    for volunteer in volunteer_docs.values():
        writer.add("volunteer", "volunteers", volunteer)
    ledger.close(databases["funding"])


class Ledger:
    """The funding store's ledger as posting would leave it: every transaction on a line
    the next link of the line's chain (shared/ledger.py), balances that never go below
    zero, and the day totals."""

    def __init__(self, writer):
        self.writer, self.balances, self.seq, self.days = writer, {}, {}, {}

    def available(self, account):
        return self.balances.get(account, 0)

    def post(self, transaction):
        for posting in transaction["postings"]:
            self.balances[posting["account"]] = (self.balances.get(posting["account"], 0)
                                                 + posting["amount_fen"])
        line = funding.line_of(transaction)
        if line is None:
            transaction = self_guarded(transaction)
        else:
            seq = self.seq[line] = self.seq.get(line, 0) + 1
            held = funding.held_of(line)
            transaction = dict(transaction, guard_key=guard_key(line, seq), guard={
                "account": line, "seq": seq, "balance": self.balances.get(line, 0),
                "tracked": [{"account": held, "balance": self.balances.get(held, 0)}]})
        self.writer.add("funding", "transactions", aggregate(with_accounts(transaction)))
        self.days.setdefault((transaction["department_id"], transaction["day"]), []).append(
            {"_id": transaction["_id"], "postings": transaction["postings"]})

    def close(self, database):
        """The day totals and each past month's roll-up, by the store itself (after every
        transaction is written)."""
        self.writer.flush("funding", "transactions")
        store = FundingStore(database)
        started = time.monotonic()
        for done, ((department, day), transactions) in enumerate(sorted(self.days.items()), 1):
            store.save_totals(department, day, transactions)
            if done % 500 == 0 or done == len(self.days):
                progress("day totals", done, len(self.days), started)
        # Each month of the history was rolled up when it ended.
        for month in sorted({day[:7] for _, day in self.days}):
            if funding.may_roll_up(month, datetime.now(UTC)):
                store.roll_up(month)


class Life:
    """One petition's history, step by step as the services would have recorded it."""

    def __init__(self, n, grid, rule, rng, history, team_docs, members, volunteer_docs, ledger,
                 sealer):
        self.n, self.grid, self.rule, self.rng, self.at = n, grid, rule, rng, history
        self.teams, self.members, self.volunteers = team_docs, members, volunteer_docs
        self.ledger, self.sealer = ledger, sealer
        self.raised = UNTIL - timedelta(seconds=rng.uniform(0, HISTORY.total_seconds()))
        self.correlation = f"{n:032x}"

    def later(self, low_minutes, high_minutes):
        return self.at(self.at.at + timedelta(minutes=self.rng.uniform(low_minutes, high_minutes)))

    def run(self):
        rng, grid, rule = self.rng, self.grid, self.rule
        self.at(self.raised)
        lat, lng = grid["inside"]["lat"], grid["inside"]["lng"]
        request = SCHEMAS['RaisePetition'].load({
            "category": rule["category"], "description": f"Reported matter {self.n + 1}",
            "location": {"lat": lat, "lng": lng}, "channel": rng.choice(CHANNELS),
            "attributes": ATTRIBUTES[rule["category"]], "reporter": {"anonymous": rng.random() < 0.3,
                                           "name": f"Resident {self.n + 1}",
                                           "phone": f"138{self.n:08d}"}})
        request.update(owner=None, token=f"{rng.getrandbits(128):032x}",
                       reporter=petitions.sealed_reporter(request["reporter"], self.sealer.seal))
        petition, _ = petitions.raise_petition(f"P-{self.n + 1:010d}", request, grid, [], POLICY,
                                               self.raised, self.correlation)
        self.petition = aggregate(petition)
        self.task = None
        recent = self.raised > UNTIL - STILL_OPEN
        stop = rng.choice(("dispatched", "acknowledged", "resolved")) if recent else "closed"
        self.dispatch()
        if self.handler["kind"] == "department":
            self.department_work(stop)
        else:
            self.team_work(stop)
        if stop == "closed":
            self.follow_up()
        return self.petition, self.task

    def follow(self, envelope, data=None):
        event = received(envelope, data)
        changed(self.petition, petitions.follow(event, self.petition), event.key)
        return event

    def dispatch(self):
        rule, grid = self.rule, self.grid
        at = self.later(2, 30)
        spec = rule["handler"]
        butler = f"butler-{grid['_id']}"
        if spec["kind"] == "volunteer_team":
            team = self.teams[spec["team_id"] if spec["team_id"] in self.teams
                              else f"{spec['team_id']}-{grid['sub_district_id']}"]
            handler = {"kind": "volunteer_team", "team_id": team["_id"], "name": team["name"]}
        elif spec["kind"] == "volunteer_skill":
            team = self.teams[f"{TEAM_WITH_SKILL[spec['skill']]}-{grid['sub_district_id']}"]
            handler = {"kind": "volunteer_team", "team_id": team["_id"], "name": team["name"],
                       "skill": spec["skill"]}
        elif spec["kind"] == "butler_role":
            handler = {"kind": "butler_team", "team_id": butler, "role": spec["role"],
                       "name": f"{spec['role'].replace('_', ' ')} of grid {grid['name']}"}
        else:
            handler = {"kind": "department", "department_id": spec["department_id"],
                       "name": spec["name"]}
        self.handler = handler
        funds = rule["funding"] and {**rule["funding"], "fiscal_year": at.year,
                                     "estimate_fen": rule["estimate_fen"],
                                     "centre_id": f"centre-{grid['community_id']}"}
        rule_id = rule["id"] if handler["kind"] != "volunteer_team" \
            else f"{rule['id']}-{grid['sub_district_id']}"
        data = {"petition_id": self.petition["_id"], "grid_id": grid["_id"],
                "community_id": grid["community_id"], "category": rule["category"], "round": 1,
                "rule_id": rule_id, "handler": {"team_id": None, "role": None,
                                                   "department_id": None, "skill": None,
                                                   **handler},
                "funding": funds, "acknowledge_by": at + timedelta(
                    hours=rule["acknowledge_within"]["amount"]),
                "due_by": at + timedelta(days=rule["finish_within"]["amount"]), "final": False,
                "places": 1, "urgent": False}
        self.dispatched = self.follow(new_event(CATALOGUE, "petition.dispatched.v1", "grid",
                                                data["petition_id"], data, self.correlation), data)
        if self.handler["kind"] != "department":
            team = self.teams[handler["team_id"]]
            task, opened = tasks.open_task(data, team, self.teams[butler], self.dispatched)
            self.task = aggregate(task, self.dispatched.key)
            self.follow(opened)
        self.order = funding.order_from_dispatch(self.dispatched.data, self.correlation)
        self.held = 0
        if funds and funds["estimate_fen"] > 0:
            line = funding.line_account(funds["department_id"], funds["budget_line"],
                                        funds["fiscal_year"])
            hold, events = funding.hold(self.order, self.ledger.available(line), at,
                                        self.dispatched)
            self.ledger.post(hold)
            self.held = funds["estimate_fen"]
            self.follow(events[0])

    def acknowledged_in(self):
        """Most are acknowledged within the time limit; some after it."""
        limit = self.rule["acknowledge_within"]["amount"] * 60
        return (5, limit * 0.9) if self.rng.random() < 0.85 else (limit * 1.1, limit * 3)

    def department_work(self, stop):
        self.later(*self.acknowledged_in())
        actor = self.handler["department_id"]
        changed(self.petition, petitions.acknowledge(actor, self.at.at, self.correlation,
                                                     self.petition))
        if stop == "acknowledged" or stop == "dispatched":
            return
        self.later(60, 60 * 24 * 5)
        changed(self.petition, petitions.resolve(actor, "answered", self.at.at, self.correlation,
                                                 self.petition))

    def team_work(self, stop):
        if stop == "dispatched":
            return
        task, team = self.task, self.teams[self.task["team_id"]]
        ids = team["roles"][task["role"]] if task["role"] else team["members"]
        volunteer = self.volunteers.get(ids[self.rng.randrange(len(ids))])
        if volunteer is None:  # a butler team's staff member: only their id matters here
            volunteer = {"_id": ids[0], "skills": [], "qualifications": [], "grids": ["*"]}
        self.later(*self.acknowledged_in())
        change = tasks.claim(volunteer, team, self.at.at, TASK_POLICY, self.correlation, task)
        changed(task, change)
        self.follow(change.events[0])
        if stop == "acknowledged":
            if volunteer["_id"] in self.volunteers:
                volunteer["open_claims"] += 1
                volunteer["claiming"] = True
            return
        self.later(60, 60 * 24 * 2)
        cost = self.rng.randrange(self.held // 2, self.held + 1) if self.held else 0
        report = SCHEMAS['Completion'].load({"volunteer_id": volunteer["_id"],
                                    "hours": self.rng.choice((0.5, 1, 1.5, 2, 3)),
                                    "cost_fen": cost})
        change = tasks.submit(report, self.at.at, self.correlation, task)
        changed(task, change)
        self.follow(change.events[0])
        self.later(30, 60 * 24)
        leader = task["grid_leader_ids"][0]
        change = tasks.verify(SCHEMAS['Verification'].load({"verifier_id": leader, "approved": True}),
                              self.at.at, self.correlation, task)
        changed(task, change)
        completed = self.follow(change.events[0])
        if self.held:
            order = funding.order_from_completion(completed.data, self.correlation)
            order.update(grid_id=self.grid["_id"], community_id=self.grid["community_id"])
            funds = order["funding"]
            line = funding.line_account(funds["department_id"], funds["budget_line"],
                                        funds["fiscal_year"])
            capture, events = funding.capture(order, cost, self.held, self.ledger.available(line),
                                              None, self.at.at, completed)
            self.ledger.post(capture)
            self.follow(events[0])

    def follow_up(self):
        petition, rng = self.petition, self.rng
        if rng.random() < 0.75:
            self.later(60, 60 * 48)
            rating = SCHEMAS['FollowUp'].load({"rating": rng.choice(RATINGS), "cause": "outside_handler"})
            changed(petition, petitions.follow_up(rating, rating["actor"], self.at.at,
                                                  self.correlation, petition))
            swept = datetime.fromisoformat(petition["verified_at"]) + timedelta(
                hours=POLICY.archive_hours, minutes=rng.uniform(0, 1))
        else:
            swept = datetime.fromisoformat(petition["resolved_at"]) + timedelta(
                hours=POLICY.follow_up_hours, minutes=rng.uniform(0, 1))
        self.at(swept)
        changed(petition, petitions.sweep(swept, POLICY, self.correlation, petition))
        forgotten = swept + timedelta(days=POLICY.contact_retention_days)
        if forgotten < UNTIL:
            petition["reporter"] = petitions.forgotten_reporter(petition["reporter"], forgotten)


def databases_of(client, prefix):
    return {service: client[f"{prefix}{service}"]
            for service in ("grid", "petition", "volunteer", "funding")}


def main():
    parser = argparse.ArgumentParser(prog="python -m tools.city", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--grids", type=int, default=20_000)
    parser.add_argument("--volunteers", type=int, default=200_000)
    parser.add_argument("--petitions", type=int, default=1_000_000)
    parser.add_argument("--prefix", default="", help="DATABASE_PREFIX of the services")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    from tools import infra

    env = infra.up()
    started = time.monotonic()
    written = generate(databases_of(MongoClient(env["MONGO_URI"], tz_aware=True), args.prefix),
                       args.grids, args.volunteers, args.petitions, args.seed, env["SEAL_KEYS"])
    for name, count in sorted(written.items()):
        print(f"{name:28} {count:>10,}")
    print(f"written in {time.monotonic() - started:,.0f} s")


if __name__ == "__main__":
    main()
