"""Volunteer service: volunteers and teams, the tasks they claim, and the morality bank.

    PUT  /volunteers/<id>               register or update a volunteer
    GET  /volunteers/<id>
    POST /volunteers/<id>/reports       a party member reports to the community (报到)
    GET  /communities/<id>/figures      volunteers, party members reported, work done
    PUT  /teams/<id>                    a volunteer team: leader, members, skills
    GET  /teams/<id>/notices            what the team leader is told (lapsed claims)
    GET  /tasks?volunteer_id=           the tasks a volunteer may claim
    GET  /tasks?team_id=&status=        a team's tasks
    GET  /tasks/<id>
    POST /tasks/<id>/claim|release|progress|complete|verify

The morality bank (道德银行):

    PUT  /bank/branches/<id>                a savings branch (储蓄所)
    GET  /bank/branches/<id>/statement?unit=
    PUT  /bank/catalogue/<item>, GET /bank/catalogue    what hours can be redeemed for
    POST /bank/donations, POST /bank/redemptions
    GET  /bank/members/<volunteer>?unit=    balance and statement
    GET  /bank/leaderboard?grid_id=|community_id=&unit=&since=
    PUT  /bank/points-rules, GET /bank/points-rules
    GET  /bank/trial-balance                every unit sums to zero
"""

import uuid
from functools import partial

from nameko.dependency_providers import Config

from services.volunteer import bank, domain, metrics, people
from services.volunteer.bank_store import HoursLedger
from services.volunteer.schemas import (
    Branch,
    CatalogueItem,
    Claim,
    Completion,
    Donation,
    LedgerQuery,
    PointsRules,
    Progress,
    Redemption,
    Release,
    Report,
    Task,
    TaskQuery,
    Tasks,
    Team,
    Verification,
    Volunteer,
    VolunteerView,
)
from services.volunteer.store import VolunteerStore
from shared.auth import ADMIN_ONLY, AUDITOR, GRID_STAFF, PUBLIC, STAFF, VOLUNTEER
from shared.consumers import subscribe
from shared.errors import Conflict, NotFound
from shared.events import now
from shared.http import http, json_response
from shared.outbox import OutboxRelay
from shared.schemas import one
from shared.service import PlatformService
from shared.storage import Storage, captured, checked_first
from shared.timers import every


class VolunteerService(PlatformService):
    name = "volunteer"

    store = Storage(VolunteerStore)
    ledger = Storage(HoursLedger)
    relay = OutboxRelay("tasks", "teams", "community_reports")
    config = Config()

    # People and teams

    @http("PUT", "/volunteers/<volunteer_id>", allow=(GRID_STAFF,), body=Volunteer,
          returns=VolunteerView)
    def put_volunteer(self, request, volunteer_id, body):
        """Register a volunteer who lives in your grids, or update one."""
        self.caller.check(self.caller.covers_grid(body["home_grid_id"]),
                          f"grid {body['home_grid_id']}")
        record = people.volunteer_record(volunteer_id, body)
        self.store.save_volunteer(volunteer_id, record)
        return json_response(one(VolunteerView).dump(self.store.volunteer(volunteer_id)))

    @http("GET", "/volunteers/<volunteer_id>", allow=(VOLUNTEER, *STAFF, AUDITOR),
          returns=VolunteerView)
    def get_volunteer(self, request, volunteer_id):
        """A volunteer, without their phone number: for themselves and staff of their grid."""
        volunteer = self._volunteer(volunteer_id)
        self._check_person(volunteer)
        return json_response(one(VolunteerView).dump(volunteer))

    @http("POST", "/volunteers/<volunteer_id>/reports", allow=(VOLUNTEER,), body=Report,
          status=201)
    def report(self, request, volunteer_id, body):
        """A party member reports to the community they live in (报到)."""
        self._check_self(volunteer_id)
        record, events = people.report_to_community(
            uuid.uuid4().hex, self._volunteer(volunteer_id), body, now(), self.correlation_id)
        self.store.add_report(record, events)
        return json_response({"id": record.pop("_id"), **record}, status=201)

    @http("GET", "/communities/<community_id>/figures", allow=(*STAFF, AUDITOR))
    def community_figures(self, request, community_id):
        """Volunteers, party members who reported, and work done in a community."""
        self.caller.check(self.caller.covers_community(community_id), f"community {community_id}")
        return json_response({"community_id": community_id, **self.store.figures(community_id)})

    @http("PUT", "/teams/<team_id>", allow=ADMIN_ONLY, body=Team)
    def put_team(self, request, team_id, body):
        """Register a volunteer team: leader, members, skills."""
        team = body
        people.check_team(team, self.store.known_volunteers(team["members"]))
        self.store.save_team(team_id, partial(people.register_team, team_id,
                                              {**team, "roles": {}}, self.correlation_id))
        return json_response({"id": team_id, "members": len(team["members"])})

    @http("GET", "/teams/<team_id>/notices", allow=(VOLUNTEER, AUDITOR))
    def team_notices(self, request, team_id):
        """What the team leader is told, such as claims that lapsed."""
        if self.caller.role == VOLUNTEER:
            team = self.store.team(team_id) or {}
            self._check_self(team.get("leader_id"))
        return json_response({"team_id": team_id, "notices": self.store.notices_for(team_id)})

    # Tasks

    @http("GET", "/tasks", allow=(VOLUNTEER, *STAFF, AUDITOR), query=TaskQuery, returns=Tasks)
    def list_tasks(self, request, query):
        """The open tasks a volunteer may claim (?volunteer_id=), or a team's (?team_id=)
        in your grids."""
        caller = self.caller
        if caller.role == VOLUNTEER:
            self._check_self(query.get("volunteer_id"))
        if volunteer_id := query.get("volunteer_id"):
            volunteer, today = self._volunteer(volunteer_id), now().date()
            teams = {t["_id"]: t for t in self.store.teams_of(volunteer_id)}
            tasks = [t for t in self.store.find_tasks(teams, "open")
                     if not domain.why_not_eligible(volunteer, teams[t["team_id"]], t, today)]
        else:
            tasks = [t for t in self.store.find_tasks([query["team_id"]], query.get("status"))
                     if caller.covers_grid(t["grid_id"])]
        return json_response({"tasks": one(Task, many=True).dump(tasks)})

    @http("GET", "/tasks/<task_id>", allow=(VOLUNTEER, *STAFF, AUDITOR), returns=Task)
    def get_task(self, request, task_id):
        """A task: its places, claims, report and verifications; for its team's members and
        staff of its grid."""
        task = self._task(task_id)
        caller = self.caller
        if caller.role == VOLUNTEER:
            team = self.store.team(task["team_id"]) or {}
            caller.check(caller.volunteer_id in team.get("members", ()), "other teams' tasks")
        else:
            caller.check(caller.covers_grid(task["grid_id"]), "this task's grid")
        return json_response(one(Task).dump(task))

    @http("POST", "/tasks/<task_id>/claim", allow=(VOLUNTEER,), body=Claim, returns=Task)
    def claim(self, request, task_id, body):
        """Claim a place on a task, if the volunteer is eligible and a place is free."""
        volunteer_id = body["volunteer_id"]
        self._check_self(volunteer_id)
        policy = self._policy()
        volunteer = self.store.reserve_claim(volunteer_id, policy.max_open_tasks, now())
        if volunteer is None:
            self._volunteer(volunteer_id)  # a 404 if there is no such volunteer
            raise Conflict(f"{volunteer_id} already holds {policy.max_open_tasks} open tasks, "
                           "the most allowed; finish or release one first.")
        try:
            # The task's team never changes: it is read on the document the claim starts from.
            task = self._change(task_id, lambda task: domain.claim(
                volunteer, self.store.team(task["team_id"]), now(), policy,
                self.correlation_id, task))
        except Exception:
            self.store.free_claim(volunteer_id)
            raise
        return json_response(one(Task).dump(task))

    @http("POST", "/tasks/<task_id>/release", allow=(VOLUNTEER,), body=Release, returns=Task)
    def release(self, request, task_id, body):
        """Give a claimed place back."""
        self._check_self(body["volunteer_id"])
        task = self._change(task_id, partial(domain.release, body["volunteer_id"], body["reason"],
                                             now(), self.correlation_id))
        self.store.free_claim(body["volunteer_id"])
        return json_response(one(Task).dump(task))

    @http("POST", "/tasks/<task_id>/progress", allow=(VOLUNTEER,), body=Progress, returns=Task)
    def progress(self, request, task_id, body):
        """Report progress, which keeps a claim from lapsing."""
        self._check_self(body["volunteer_id"])
        return json_response(one(Task).dump(self._change(task_id, partial(
            domain.report_progress, body["volunteer_id"], body["note"], now(), self._policy(),
            self.correlation_id))))

    @http("POST", "/tasks/<task_id>/complete", allow=(VOLUNTEER,), body=Completion,
          returns=Task)
    def complete(self, request, task_id, body):
        """Submit the work as done, with hours, cost and photos, for verification."""
        self._check_self(body["volunteer_id"])
        return json_response(one(Task).dump(self._change(task_id, partial(
            domain.submit, body, now(), self.correlation_id))))

    @http("POST", "/tasks/<task_id>/verify", allow=(VOLUNTEER, GRID_STAFF), body=Verification,
          returns=Task)
    def verify(self, request, task_id, body):
        """The team leader (or grid) approves the work, or sends it back."""
        decide = partial(domain.verify, body, now(), self.correlation_id)
        if self.caller.role == VOLUNTEER:
            self._check_self(body["verifier_id"])
        else:
            # A task's grid never changes.
            decide = checked_first(lambda task: self.caller.check(
                self.caller.covers_grid(task["grid_id"]), "this task's grid"), decide)
        task = self._change(task_id, decide)
        if task["status"] == "completed":
            for volunteer_id in task["claimant_ids"]:
                self.store.free_claim(volunteer_id)
        return json_response(one(Task).dump(task))

    # The morality bank

    @http("PUT", "/bank/branches/<branch_id>", allow=ADMIN_ONLY, body=Branch)
    def put_branch(self, request, branch_id, body):
        """Open or rename a morality bank branch (储蓄所)."""
        self.ledger.save_branch(branch_id, body)
        return json_response({"id": branch_id, **self.ledger.branch(branch_id)})

    @http("GET", "/bank/branches/<branch_id>/statement", allow=(AUDITOR,),
          query=LedgerQuery(only=("unit",)))
    def branch_statement(self, request, branch_id, query):
        """A branch's deposits, donations and redemptions, in hours or points."""
        return json_response(self.ledger.branch_statement(branch_id, query["unit"]))

    @http("PUT", "/bank/catalogue/<item_id>", allow=ADMIN_ONLY, body=CatalogueItem)
    def put_item(self, request, item_id, body):
        """Offer something hours can be redeemed for, at a price in hours."""
        item = body
        self.ledger.save_item(item_id, {"name": item["name"], "active": item["active"],
                                        "price_minutes": bank.minutes(item["price_hours"])})
        return json_response({"id": item_id, **self.ledger.item(item_id)})

    @http("GET", "/bank/catalogue", allow=PUBLIC)
    def list_items(self, request):
        """What hours can be redeemed for."""
        return json_response({"items": self.ledger.items(active_only=True)})

    @http("POST", "/bank/donations", allow=(VOLUNTEER,), body=Donation, status=201)
    def donate(self, request, body):
        """Give your hours to another member; the request_id makes it happen once."""
        self._check_self(body["from_volunteer_id"])
        giver = self._volunteer(body["from_volunteer_id"])
        receiver = self._volunteer(body["to_volunteer_id"])
        posted = self.ledger.post_debit(
            bank.donation_key(body["request_id"]), bank.member_account(giver["_id"]), bank.HOURS,
            lambda balance: bank.donate(body["request_id"], giver, receiver,
                                        bank.minutes(body["hours"]), balance, now(),
                                        memo=body["memo"]))
        return json_response(posted, status=201)

    @http("POST", "/bank/redemptions", allow=(VOLUNTEER,), body=Redemption, status=201)
    def redeem(self, request, body):
        """Spend your hours on a catalogue item; the request_id makes it happen once."""
        self._check_self(body["volunteer_id"])
        member = self._volunteer(body["volunteer_id"])
        item = self.ledger.item(body["item_id"])
        if item is None:
            raise NotFound(f"No catalogue item {body['item_id']!r}; see GET /bank/catalogue.")
        posted = self.ledger.post_debit(
            bank.redemption_key(body["request_id"]), bank.member_account(member["_id"]),
            bank.HOURS, lambda balance: bank.redeem(body["request_id"], member,
                                                    {"_id": body["item_id"], **item},
                                                    body["quantity"], balance, now()))
        return json_response(posted, status=201)

    @http("GET", "/bank/members/<volunteer_id>", allow=(VOLUNTEER, AUDITOR),
          query=LedgerQuery(only=("unit",)))
    def member_statement(self, request, volunteer_id, query):
        """A member's balance and statement, in hours or points: their own."""
        if self.caller.role == VOLUNTEER:
            self._check_self(volunteer_id)
        unit = query["unit"]
        account = bank.member_account(self._volunteer(volunteer_id)["_id"])
        lines = bank.statement(self.ledger.postings(account, unit))
        # The balance is the statement's own closing balance: a second read could see a
        # posting made after the lines were read.
        balance = lines[-1]["balance"] if lines else 0
        # Hours are kept in whole minutes, so they always sum exactly.
        shown = {"balance_minutes": balance, "balance_hours": bank.hours(balance)} \
            if unit == bank.HOURS else {"balance_points": balance}
        return json_response({"volunteer_id": volunteer_id, "unit": unit, **shown,
                              "lines": lines})

    @http("GET", "/bank/leaderboard", allow=PUBLIC, query=LedgerQuery)
    def leaderboard(self, request, query):
        """The members with the most hours or points, in a grid or community, since a date."""
        return json_response({**{k: v for k, v in query.items() if k != "since"},
                              "leaders": self.ledger.leaderboard(
                                  query["unit"], grid_id=query.get("grid_id"),
                                  community_id=query.get("community_id"),
                                  since=query.get("since"))})

    @http("PUT", "/bank/points-rules", allow=ADMIN_ONLY, body=PointsRules)
    def put_points_rules(self, request, body):
        """Replace the rules that turn party members' hours into points."""
        revision = self.ledger.replace_points_rules(body)
        return json_response({"revision": revision})

    @http("GET", "/bank/points-rules", allow=PUBLIC)
    def get_points_rules(self, request):
        """The points rules in force."""
        return json_response(self.ledger.points_rules())

    @http("GET", "/bank/trial-balance", allow=(AUDITOR,))
    def trial_balance(self, request):
        """Every unit of the ledger sums to zero: the proof it is whole."""
        return json_response(self.ledger.trial_balance())

    @subscribe("task.completed.v1")
    def deposit_hours(self, event):
        """Verified work deposits each claimant's hours, and points for party members."""
        task = self.store.task(event.data["task_id"])
        minutes, rules = bank.minutes(task["hours_each"]), self.ledger.points_rules()
        for volunteer_id in task["claimant_ids"]:
            member = self.store.volunteer(volunteer_id)
            if minutes and self.ledger.post_once(bank.deposit(task["_id"], member, minutes,
                                                              event.time, event.id)):
                metrics.HOURS.labels(task["community_id"], task["category"]).inc(minutes / 60)
            points = bank.award_points(task, member, minutes, rules, event.time, event.id)
            if points:
                self.ledger.post_once(points)

    # Following the grid and the petitions

    @subscribe("petition.dispatched.v1")
    def open_task(self, event):
        handler = event.data["handler"]
        if not domain.takes_tasks(handler):
            return
        task, opened = domain.open_task(event.data, self.store.team(handler["team_id"]),
                                        self.store.team(f"butler-{event.data['grid_id']}"), event)
        self.store.open_task(task, opened, event.key)

    @subscribe("grid.registered.v1")
    def track_butler_team(self, event):
        team, staff = people.butler_team(event.data)
        for person in staff:
            self.store.save_volunteer(person.pop("_id"), person)
        self.store.save_team(f"butler-{event.data['grid_id']}", partial(
            people.register_team, f"butler-{event.data['grid_id']}", team, event.correlationid))

    @subscribe("petition.work_confirmed.v1")
    def verify_by_resident(self, event):
        task_id = domain.task_id_for(event.data["petition_id"], event.data["round"])
        task = self.store.task(task_id)
        if task is None or task["status"] != "submitted":
            return  # nothing awaits confirmation: the grid leader verified it first
        decide, saved = captured(partial(
            domain.verify, {"verifier_id": "resident", "approved": True, "reason": None},
            event.time, event.correlationid))
        self.store.change_task(task_id, decide, handled=event.key)
        self._free_claims(saved)

    @subscribe("funds.blocked.v1")
    @subscribe("funds.held.v1")
    def track_funding(self, event):
        """Mark the task while its funding is blocked, so the team knows why it waits."""
        # No task (a handler that takes none) leaves nothing to mark.
        self.store.change_task(domain.task_id_for(event.data["petition_id"], event.data["round"]),
                               partial(domain.mark_funding, event.type == "funds.blocked.v1"),
                               handled=event.key)

    @subscribe("petition.returned.v1")
    @subscribe("petition.reopened.v1")
    @subscribe("petition.rejected.v1")
    def cancel_tasks(self, event):
        for task_id in self.store.live_tasks_of(event.data["petition_id"]):
            decide, saved = captured(partial(
                domain.cancel, f"the petition was {event.type.split('.')[1]}", event.time,
                event.correlationid))
            self.store.change_task(task_id, decide, handled=event.key)
            self._free_claims(saved, "cancelled", event.time)

    @every("VOLUNTEER_SWEEP_SECONDS", 60)
    def lapse_stalled_claims(self):
        """Release claims with no progress in time (the team leader is told); then recount
        open claims, in case a crash came between a reservation and its claim."""
        at, correlation_id = now(), uuid.uuid4().hex
        for task_id in self.store.claimed_tasks():
            decide, saved = captured(partial(domain.lapse_stalled, at, correlation_id))
            self.store.change_task(task_id, decide)
            self._free_claims(saved, "lapsed", at)
        self.store.reconcile_claims(at)

    # Helpers

    def _free_claims(self, saved, state=None, at=None):
        """Give back the open-claim slots a saved change ended: its claimants when it
        completed the task, else the claims it moved to ``state`` at ``at``. Nothing when
        the store skipped the change (an event already handled)."""
        change = saved.get("change")
        if change is None:
            return
        if state is None:
            ended = change.set.get("claimant_ids", [])
        else:
            ended = [c["volunteer_id"] for c in change.set.get("claims", [])
                     if c["state"] == state and c.get("ended_at") == at.isoformat()]
        for volunteer_id in ended:
            self.store.free_claim(volunteer_id)

    def _check_self(self, volunteer_id):
        """A volunteer acts as themselves only."""
        self.caller.check(self.caller.is_volunteer(volunteer_id), "other volunteers")

    def _check_person(self, volunteer):
        caller = self.caller
        if caller.role == VOLUNTEER:
            self._check_self(volunteer["_id"])
        else:
            caller.check(caller.covers_grid(volunteer["home_grid_id"]), "this volunteer's grid")

    def _task(self, task_id):
        return self._found(task_id, self.store.task(task_id))

    def _change(self, task_id, decide):
        return self._found(task_id, self.store.change_task(task_id, decide))

    @staticmethod
    def _found(task_id, task):
        if task is None:
            raise NotFound(f"No task {task_id!r}; list a team's tasks with GET /tasks?team_id=.")
        return task

    def _volunteer(self, volunteer_id):
        volunteer = self.store.volunteer(volunteer_id)
        if volunteer is None:
            raise NotFound(f"No volunteer {volunteer_id!r}; register them with PUT /volunteers/<id>.")
        return volunteer

    def _policy(self):
        return domain.TaskPolicy.from_config(self.config)
