"""Petition service: residents raise petitions; it follows each one to closure.

Native API (JSON)::

    POST /petitions                        raise a petition (201)
    GET  /petitions/<id>                   the public view: no contact details
    GET  /petitions/<id>/timeline          every step, with time, actor and event id
    POST /petitions/<id>/<command>         accept, reject, acknowledge, progress, resolve,
                                           return, escalate, confirm-work, follow-up, close
    POST /petitions/<id>/merge             merge into another petition as a duplicate
    GET  /staff/petitions?grid_id=&...     staff query, cursor-paginated, newest first
    GET  /staff/petitions/<id>             the staff view (X-Staff-Role decides contact masking)
    GET  /grids                            the grids a petition may name
    GET  /grids/<id>/petitions             the public map of a grid: anonymised, coarse
    GET  /categories[/<code>]              categories and the extra fields each asks for
    PUT  /categories/<code>                define or change a category
    GET  /figures/rates, /figures/operations   the three rates; the operations page's figures
    GET  /ops                              the live operations page (its figures need a token)
    POST /proposals                        residents' proposals (居民议案) and their
    GET  /proposals[/<id>]                 review, vote and public notice: see proposals.py
    POST /proposals/<id>/review|vote|objections|conclude

Open311 GeoReport v2 (JSON) under /open311/v2/: discovery.json, services.json,
services/<code>.json, requests.json (GET and POST), requests/<id>.json,
tokens/<token>.json.
"""

import uuid
from datetime import timedelta
from functools import partial

from nameko.dependency_providers import Config

from services.petition import categories, domain, figures, metrics, open311, ops_page, proposals
from services.petition.schemas import (
    AssemblyVote,
    Categories,
    Category,
    CategoryDefinition,
    ConcludeNotice,
    FiguresQuery,
    FollowUp,
    Grids,
    MapPage,
    MapPetition,
    Merge,
    Objection,
    Open311Created,
    Open311Definition,
    Open311Error,
    Open311Request,
    Open311Service,
    Open311Token,
    ProposalQuery,
    Proposals,
    ProposalView,
    PublicPetition,
    PublicProposal,
    RaisePetition,
    Return,
    ReviewProposal,
    StaffNote,
    StaffPage,
    StaffPetition,
    StaffQuery,
    StaffReason,
    SubmitProposal,
    Timeline,
    TimelineEntry,
)
from services.petition.store import PetitionStore
from shared import geo
from shared.auth import (
    ADMIN_ONLY,
    AUDITOR,
    GRID_STAFF,
    INTAKE,
    PUBLIC,
    RESIDENT,
    STAFF,
)
from shared.consumers import subscribe
from shared.errors import InvalidFields, NotFound
from shared.events import now
from shared.http import ByPath, http, json_response, load_data, read_form
from shared.outbox import OutboxRelay
from shared.schemas import ThreeRates, one
from shared.sealing import Seals
from shared.service import PlatformService
from shared.storage import Storage, captured, checked_first
from shared.timers import every

OPEN311 = "/open311/v2"
open311_http = partial(http, render_error=open311.render_error,
                       error_schema=Open311Error(many=True), token_param="api_key")

# URL word -> (body schema, domain command, the command's leading arguments from the body)
COMMANDS = {
    "accept": (StaffNote, domain.accept, lambda b: (b["actor"], b["reason"])),
    "reject": (StaffReason, domain.reject, lambda b: (b["actor"], b["reason"])),
    "acknowledge": (StaffNote, domain.acknowledge, lambda b: (b["actor"],)),
    "progress": (StaffReason, domain.report_progress, lambda b: (b["actor"], b["reason"])),
    "resolve": (StaffReason, domain.resolve, lambda b: (b["actor"], b["reason"])),
    "return": (Return, domain.return_to_dispatcher,
               lambda b: (b["actor"], b["reason"], b["return_reason"])),
    "escalate": (StaffReason, domain.escalate, lambda b: (b["actor"], b["reason"])),
    "confirm-work": (StaffNote, domain.confirm_work, lambda b: (b["actor"],)),
    "follow-up": (FollowUp, domain.follow_up, lambda b: (b, b["actor"])),
    "close": (StaffNote, domain.close, lambda b: (b["actor"], b["reason"])),
}


BODIES = ByPath("command", {word: schema for word, (schema, _, _) in COMMANDS.items()})
# Staff handle petitions; the resident who raised one also rates the work (follow-up).
COMMAND_ROLES = ByPath("command", {word: (*STAFF, RESIDENT) if word == "follow-up" else STAFF
                                   for word in COMMANDS})


class PetitionService(PlatformService):
    name = "petition"

    store = Storage(PetitionStore)
    relay = OutboxRelay("petitions", "proposals")
    config = Config()
    seals = Seals()

    # Petitions

    @http("POST", "/petitions", allow=(RESIDENT, INTAKE, *STAFF), body=RaisePetition,
          returns=PublicPetition, status=201, limit="intake")
    def raise_petition(self, request, body):
        """Raise a petition: what, where, and who to answer (kept private).

        A resident raises their own; a hotline or app back end (intake) raises for
        residents; staff raise what they are told in person, in their grids.
        """
        petition = self._raise(body)
        return json_response(one(PublicPetition).dump(self._open(petition)), status=201,
                             headers={"Location": f"/petitions/{petition['_id']}"})

    @http("GET", "/petitions/<petition_id>", allow=PUBLIC, returns=PublicPetition)
    def get_petition(self, request, petition_id):
        """The public view of a petition: no contact details."""
        return json_response(one(PublicPetition).dump(self._open(self._petition(petition_id))))

    @http("GET", "/petitions/<petition_id>/timeline", allow=(RESIDENT, *STAFF, AUDITOR),
          returns=Timeline)
    def get_timeline(self, request, petition_id):
        """Every step of a petition, with time, actor, event id and a sentence: for its
        resident and for staff of its grid."""
        petition = self._petition(petition_id)
        self._check_access(petition)
        return json_response({"petition_id": petition_id, "state": petition["state"],
                              "timeline": one(TimelineEntry, many=True).dump(domain.timeline(petition))})

    @http("POST", "/petitions/<petition_id>/<command>", allow=COMMAND_ROLES, body=BODIES,
          returns=StaffPetition)
    def command(self, request, petition_id, command, body):
        """A step of the lifecycle; a step the petition's state does not allow is a 409."""
        _, decide, arguments = COMMANDS[command]
        apply, saved = captured(partial(decide, *arguments(body), now(), self.correlation_id))
        petition = self.store.change(petition_id, checked_first(self._check_access, apply))
        if petition is None:
            raise no_petition(petition_id)
        metrics.count_change(saved.get("change"), petition)
        return json_response(one(StaffPetition).dump(self._open(petition)))

    @http("POST", "/petitions/<petition_id>/merge", allow=STAFF, body=Merge,
          returns=StaffPetition)
    def merge(self, request, petition_id, body):
        """Merge a petition into another as its duplicate; it closes with the other."""
        self._check_access(self._petition(petition_id))
        primary = self._petition(body["into"])
        self._check_access(primary)
        petition = self.store.change(petition_id, partial(
            domain.merge, primary, body["actor"], body["reason"], now(), self.correlation_id))
        return json_response(one(StaffPetition).dump(self._open(petition)))

    @http("GET", "/staff/petitions", allow=(*STAFF, AUDITOR), query=StaffQuery,
          returns=StaffPage)
    def query_petitions(self, request, query):
        """Petitions by grid, community, state, category, channel, dates or overdue,
        newest first, within your grids; pass next_cursor back as cursor for the next page."""
        caller = self.caller
        if "grid_id" in query:
            caller.check(caller.covers_grid(query["grid_id"]), f"grid {query['grid_id']}")
        if "community_id" in query:
            caller.check(caller.covers_community(query["community_id"]),
                         f"community {query['community_id']}")
        if not caller.everywhere:
            query["grid_ids"] = caller.grids
        page, cursor = self.store.query(query, now())
        return json_response({"petitions": one(StaffPetition, many=True).dump(
            [self._open(p) for p in page]),
                              "next_cursor": cursor})

    @http("GET", "/staff/petitions/<petition_id>", allow=(*STAFF, AUDITOR),
          returns=StaffPetition)
    def get_staff_view(self, request, petition_id):
        """The staff view; contact details are shown only to roles that contact residents."""
        petition = self._petition(petition_id)
        self._check_access(petition)
        return json_response(one(StaffPetition, role=self.caller.role).dump(self._open(petition)))

    @http("GET", "/grids", allow=PUBLIC, returns=Grids)
    def list_grids(self, request):
        """The grids a petition may name."""
        return json_response({"grids": [{"id": g["_id"], "name": g["name"],
                                         "community_id": g["community_id"]}
                                        for g in self.store.grids()]})

    @http("GET", "/grids/<grid_id>/petitions", allow=PUBLIC,
          query=StaffQuery(only=("limit", "cursor")),
          returns=MapPage)
    def grid_map(self, request, grid_id, query):
        """The public map of a grid: anonymised, located to about 100 m."""
        page, cursor = self.store.query({**query, "grid_id": grid_id}, now())
        return json_response({"grid_id": grid_id, "petitions": one(MapPetition, many=True).dump(page),
                              "next_cursor": cursor})

    # Figures

    @http("GET", "/figures/rates", allow=(*STAFF, AUDITOR), query=FiguresQuery,
          returns=ThreeRates)
    def rates(self, request, query):
        """The three rates (三率) of the petitions raised in a period, in an area of any level
        or all of your grids: response, resolution and satisfaction, with their counts."""
        return json_response(figures.three_rates(self._for_figures(query)))

    @http("GET", "/figures/operations", allow=(*STAFF, AUDITOR))
    def operations(self, request):
        """The operations page's figures: open and overdue petitions per grid, the flow of
        the last hour, the three rates; for your grids."""
        caller = self.caller
        grids = [{**g, "boundary": geo.from_text(g.get("boundary"))}
                 for g in self.store.grids(with_boundaries=True) if caller.covers_grid(g["_id"])]
        petitions = self._for_figures({})
        return json_response(figures.operations(petitions, grids, now()))

    # The live operations page

    @http("GET", "/ops", allow=PUBLIC, media_type="text/html")
    def ops(self, request):
        """The live operations page: the grids by open petitions, the last hour's flow and
        the three rates, updating every few seconds. Open it as /ops#token=<bearer token>
        (grid staff, dispatcher, auditor or administrator), or paste the token when asked."""
        return ops_page.asset("index.html")

    @http("GET", "/ops/ops.js", allow=PUBLIC, media_type="text/javascript")
    def ops_script(self, request):
        """The operations page's script."""
        return ops_page.asset("ops.js")

    @http("GET", "/ops/ops.css", allow=PUBLIC, media_type="text/css")
    def ops_style(self, request):
        """The operations page's style sheet."""
        return ops_page.asset("ops.css")

    # Categories

    @http("GET", "/categories", allow=PUBLIC, returns=Categories)
    def list_categories(self, request):
        """The categories, and the extra fields each asks for."""
        return json_response({"categories": self._categories_view(self.store.categories())})

    @http("GET", "/categories/<code>", allow=PUBLIC, returns=Category)
    def get_category(self, request, code):
        """One category and the extra fields it asks for."""
        return json_response(self._categories_view([self._category(code)])[0])

    @http("PUT", "/categories/<code>", allow=ADMIN_ONLY, body=CategoryDefinition,
          returns=Category)
    def put_category(self, request, code, body):
        """Define or change a category."""
        category = {"_id": code, **body}
        categories.check_definition(category)
        self.store.save_category(category)
        return json_response(self._categories_view([category])[0])

    # Open311 GeoReport v2

    @open311_http("GET", f"{OPEN311}/discovery.json", allow=PUBLIC)
    def open311_discovery(self, request):
        """GeoReport v2 discovery: where the endpoint is and what it speaks."""
        return json_response(open311.discovery(request.host_url.rstrip("/") + OPEN311,
                                               self._jurisdiction(), self.config.get(
                                                   "OPEN311_CONTACT", "the city's 12345 centre")))

    @open311_http("GET", f"{OPEN311}/services.json", allow=PUBLIC, returns=Open311Service(many=True))
    def open311_services(self, request):
        """GeoReport v2 service list: our categories (optional ?jurisdiction_id=)."""
        open311.check_jurisdiction(request.args, self._jurisdiction())
        return json_response([open311.service(c) for c in self.store.categories()])

    @open311_http("GET", f"{OPEN311}/services/<code>.json", allow=PUBLIC,
                  returns=Open311Definition)
    def open311_service_definition(self, request, code):
        """GeoReport v2 service definition: a category's extra fields as attributes."""
        open311.check_jurisdiction(request.args, self._jurisdiction())
        return json_response(open311.service_definition(self._category(code)))

    @open311_http("POST", f"{OPEN311}/requests.json", allow=(RESIDENT, INTAKE),
                  returns=Open311Created(many=True), status=201, limit="intake")
    def open311_post_request(self, request):
        """GeoReport v2 POST service request, form-encoded as the spec has it.

        Fields: service_code, lat and long (or address_id, a grid id), address_string,
        description, media_url, first_name, last_name, phone, email, and
        attribute[code]=value (attribute[code][]=value for lists). api_key is a bearer
        token of a resident or an intake service account (or send it as the header).
        """
        form = read_form(request)
        open311.check_jurisdiction(form, self._jurisdiction())
        request = open311.petition_request(form, self._inside_grid)
        petition = self._raise(load_data(one(RaisePetition), request))
        return json_response(open311.created(petition), status=201)

    @open311_http("GET", f"{OPEN311}/requests.json", allow=PUBLIC,
                  returns=Open311Request(many=True))
    def open311_requests(self, request):
        """GeoReport v2 GET service requests.

        Filters as the spec has them: service_request_id (comma-separated), service_code,
        start_date, end_date (W3C date-times; the last 90 days by default), status
        (open, closed); at most 1,000 requests.
        """
        open311.check_jurisdiction(request.args, self._jurisdiction())
        criteria = open311.query(request.args, now())
        found = self.store.open311_requests(criteria, open311.MAX_RESULTS)
        wanted = criteria.get("closed")
        return json_response([self._service_request(p) for p in found
                              if wanted is None or (open311.status_of(p["state"]) == "closed") == wanted])

    @open311_http("GET", f"{OPEN311}/requests/<petition_id>.json", allow=PUBLIC,
                  returns=Open311Request(many=True))
    def open311_request(self, request, petition_id):
        """GeoReport v2 GET one service request."""
        open311.check_jurisdiction(request.args, self._jurisdiction())
        return json_response([self._service_request(self._petition(petition_id))])

    @open311_http("GET", f"{OPEN311}/tokens/<token>.json", allow=PUBLIC,
                  returns=Open311Token(many=True))
    def open311_token(self, request, token):
        """GeoReport v2 token: the service request id a POST's token stands for."""
        found = self.store.by_token(token)
        if found is None:
            raise NotFound(f"No request has token {token!r}; use the token POST requests.json gave.")
        return json_response([{"service_request_id": found["_id"], "token": token}])

    # Resident proposals (居民议案)

    @http("POST", "/proposals", allow=(RESIDENT, GRID_STAFF), body=SubmitProposal,
          returns=ProposalView, status=201)
    def submit_proposal(self, request, body):
        """Submit a residents' proposal (居民议案) for the branch to review."""
        proposal, events = proposals.submit(proposals.new_proposal_id(), body, now(),
                                            self.correlation_id)
        self.store.add_proposal(proposal, events)
        return json_response(self._proposal_view(proposal), status=201,
                             headers={"Location": f"/proposals/{proposal['_id']}"})

    @http("GET", "/proposals", allow=PUBLIC, query=ProposalQuery, returns=Proposals)
    def list_proposals(self, request, query):
        """Proposals, all public, of one community or all."""
        found = self.store.proposals_of(query.get("community_id"))
        return json_response({"proposals": one(PublicProposal, many=True).dump(found)})

    @http("GET", "/proposals/<proposal_id>", allow=PUBLIC, returns=ProposalView)
    def get_proposal(self, request, proposal_id):
        """A proposal with its review, votes, notice, objections and tracked work."""
        return json_response(self._proposal_view(self._proposal(proposal_id)))

    @http("POST", "/proposals/<proposal_id>/review", allow=(GRID_STAFF,), body=ReviewProposal,
          returns=ProposalView)
    def review_proposal(self, request, proposal_id, body):
        """The branch's review: put to the assembly, or rejected after consulting residents."""
        return self._change_proposal(proposal_id, partial(proposals.review, body))

    @http("POST", "/proposals/<proposal_id>/vote", allow=(GRID_STAFF,), body=AssemblyVote,
          returns=ProposalView)
    def vote_on_proposal(self, request, proposal_id, body):
        """The assembly's vote, with quorum and majority as configured."""
        return self._change_proposal(proposal_id, partial(
            proposals.vote, body, proposals.AssemblyRules.from_config(self.config)))

    @http("POST", "/proposals/<proposal_id>/objections", allow=(RESIDENT,), body=Objection,
          returns=ProposalView)
    def object_to_proposal(self, request, proposal_id, body):
        """A resident's objection while the result is on public notice."""
        return self._change_proposal(proposal_id, partial(proposals.object_to, body),
                                     staff_only=False)

    @http("POST", "/proposals/<proposal_id>/conclude", allow=(GRID_STAFF,), body=ConcludeNotice,
          returns=ProposalView)
    def conclude_proposal(self, request, proposal_id, body):
        """After the notice: answer every objection and conclude."""
        return self._change_proposal(proposal_id, partial(proposals.conclude, body))

    # Following the other services, and itself

    @subscribe("petition.dispatched.v1")
    @subscribe("task.opened.v1")
    @subscribe("task.claimed.v1")
    @subscribe("task.released.v1")
    @subscribe("task.progressed.v1")
    @subscribe("task.submitted.v1")
    @subscribe("task.verification_declined.v1")
    @subscribe("task.cancelled.v1")
    @subscribe("task.completed.v1")
    @subscribe("funds.held.v1")
    @subscribe("funds.released.v1")
    @subscribe("funds.blocked.v1")
    @subscribe("funds.approval_requested.v1")
    @subscribe("funds.settled.v1")
    @subscribe("dispatch.reminded.v1")
    @subscribe("dispatch.escalated.v1")
    @subscribe("dispatch.extension_requested.v1")
    @subscribe("dispatch.extension_decided.v1")
    @subscribe("dispatch.arbitration_requested.v1")
    def follow(self, event):
        petition_id = event.data["petition_id"]
        decide, saved = captured(partial(domain.follow, event))
        petition = self.store.change(petition_id, decide, event.key)
        if petition is None:
            raise NotFound(f"petition {petition_id} is not stored here")
        metrics.count_change(saved.get("change"), petition)

    @subscribe("spot_check.overturned.v1")
    def reopen_after_spot_check(self, event):
        petition_id = event.data["petition_id"]
        petition = self.store.change(petition_id, partial(domain.reopen_after_spot_check, event),
                                     event.key)
        if petition is None:
            raise NotFound(f"petition {petition_id} is not stored here")

    @subscribe("petition.merged.v1")
    def absorb_duplicate(self, event):
        duplicate_id = event.data["petition_id"]
        primary = self.store.change(event.data["into"], partial(domain.absorb, duplicate_id),
                                    handled=event.key)
        if primary is None:
            raise NotFound(f"petition {event.data['into']} is not stored here")
        if primary["state"] in domain.FINAL:
            self._close_with(primary, duplicate_id, event)

    @subscribe("petition.closed.v1")
    @subscribe("petition.rejected.v1")
    def close_merged(self, event):
        primary = self.store.get(event.data["petition_id"])
        for duplicate_id in primary["merged_petitions"]:
            self._close_with(primary, duplicate_id, event)

    @subscribe("grid.registered.v1")
    def track_grid(self, event):
        self.store.track_grid(event.data)

    @every("PETITION_SWEEP_SECONDS", 60)
    def sweep(self):
        """Close unanswered follow-ups, archive verified petitions, forget the contact of
        reporters whose petitions closed longer ago than the retention period (keeping
        the figures), and seal contacts still in the clear or under a retired key."""
        policy, at, correlation_id = self._policy(), now(), uuid.uuid4().hex
        for petition_id in self.store.due_for_sweep(at, policy):
            self.store.change(petition_id, partial(domain.sweep, at, policy, correlation_id))
        retention = timedelta(days=policy.contact_retention_days)
        for petition_id, reporter in self.store.reporters_to_forget(at - retention):
            self.store.forget_reporter(petition_id, domain.forgotten_reporter(reporter, at))
        # Finding unsealed contacts reads every reporter, so it runs once per key and
        # then daily, not every minute.
        fingerprint = self.seals.fingerprint
        if self.store.reseal_due(fingerprint, (at - timedelta(days=1)).isoformat()):
            unsealed = self.store.reporters_to_seal(self.seals.is_current)
            for petition_id, reporter in unsealed:
                opened = domain.opened_reporter(reporter, self.seals.open)
                self.store.replace_reporter(petition_id,
                                            domain.sealed_reporter(opened, self.seals.seal))
            if not unsealed:
                self.store.record_resealed(fingerprint, at)

    @every("PETITION_FIGURES_SECONDS", 60)
    def refresh_figures(self):
        """Refresh the gauges of open work from the projections."""
        metrics.refresh(self.store.open_petitions(), now())

    # Helpers

    def _raise(self, data):
        category = self._category(data["category"], field="category")
        data["attributes"] = categories.check_attributes(category, data["attributes"])
        if data["proposal_id"]:
            self._adopted_proposal(data["proposal_id"])
        grid = self._grid_for(data)
        caller = self.caller
        if caller.role in STAFF:
            caller.check(caller.covers_grid(grid["_id"]), f"grid {grid['_id']}")
        data["owner"] = caller.sub if caller.role == RESIDENT else None
        data["reporter"] = domain.sealed_reporter(data["reporter"], self.seals.seal)
        policy, at = self._policy(), now()
        nearby = self.store.open_nearby(grid["_id"], data["category"],
                                        at - timedelta(hours=policy.duplicate_window_hours))
        petition, events = domain.raise_petition(
            domain.new_petition_id(), {**data, "token": uuid.uuid4().hex}, grid,
            domain.likely_duplicates(data["location"], nearby, policy), policy, at,
            self.correlation_id)
        self.store.add(petition, events)
        metrics.RAISED.labels(petition["grid_id"], petition["category"]).inc()
        return petition

    def _for_figures(self, query):
        caller = self.caller
        if "area_id" in query:
            grid_ids = self.store.grids_within(query["area_id"])
            if not grid_ids:
                raise NotFound(f"No area {query['area_id']!r} has grids; give a grid, "
                               "workstation, community, sub-district or district id.")
            caller.check(all(caller.covers_grid(g) for g in grid_ids), f"{query['area_id']}")
        else:
            grid_ids = None if caller.everywhere else caller.grids
        return self.store.for_figures(grid_ids, query.get("from"), query.get("to"))

    def _open(self, petition):
        return {**petition, "reporter": domain.opened_reporter(petition["reporter"],
                                                               self.seals.open)}

    def _check_access(self, petition):
        """A resident reaches their own petitions; staff those of their grids (neither the
        owner nor the grid of a petition ever changes)."""
        caller = self.caller
        if caller.role == RESIDENT:
            caller.check(petition.get("owner") == caller.sub, "petitions raised by others")
        else:
            caller.check(caller.covers_grid(petition["grid_id"]), "this petition's grid")

    def _grid_for(self, data):
        if data["grid_id"]:
            grid = self.store.grid(data["grid_id"])
            if grid is None:
                raise InvalidFields("The petition names a grid this platform does not know.",
                                    fields={"grid_id": [f"Unknown grid {data['grid_id']!r}; choose "
                                                        "one listed by GET /grids, or leave it out."]})
            return grid
        location = data["location"]
        grid = self.store.grid_at(location["lat"], location["lng"])
        if grid is None:
            raise InvalidFields("The location lies outside every grid of this city.", fields={
                "location": [f"({location['lat']}, {location['lng']}) is in no grid; check the "
                             "point, or name the grid with grid_id."]})
        return grid

    def _inside_grid(self, grid_id):
        grid = self.store.grid(grid_id)
        return grid.get("inside") if grid else None

    def _close_with(self, primary, duplicate_id, event):
        self.store.change(duplicate_id, partial(domain.close_with_primary, primary, event.time,
                                                event.correlationid), handled=event.key)

    def _petition(self, petition_id):
        petition = self.store.get(petition_id)
        if petition is None:
            raise no_petition(petition_id)
        return petition

    def _category(self, code, field=None):
        category = self.store.category(code)
        if category is None or not category["active"]:
            message = f"No category {code!r}; choose one listed by GET /categories."
            if field:
                raise InvalidFields("The category is not one this city handles.",
                                    fields={field: [message]})
            raise NotFound(message)
        return category

    def _categories_view(self, found):
        return one(Category, many=True).dump(found)

    def _service_request(self, petition):
        category = self.store.category(petition["category"])
        return open311.service_request(petition, category["name"] if category else None)

    def _proposal(self, proposal_id):
        proposal = self.store.proposal(proposal_id)
        if proposal is None:
            raise NotFound(f"No proposal {proposal_id!r}; list them with GET /proposals.")
        return proposal

    def _adopted_proposal(self, proposal_id):
        proposal = self.store.proposal(proposal_id)
        if proposal is None or proposal["state"] != "adopted":
            raise InvalidFields("Only an adopted proposal can have work raised for it.", fields={
                "proposal_id": [f"{proposal_id!r} is not an adopted proposal; see GET /proposals."]})
        return proposal

    def _change_proposal(self, proposal_id, decide, staff_only=True):
        proposal = self._proposal(proposal_id)
        if staff_only:
            self.caller.check(self.caller.covers_community(proposal["community_id"]),
                              f"community {proposal['community_id']}")
        proposal = self.store.change_proposal(proposal_id, partial(decide, now(),
                                                                   self.correlation_id))
        return json_response(self._proposal_view(proposal))

    def _proposal_view(self, proposal):
        view = one(PublicProposal).dump(proposal)
        view["work"] = [{"petition_id": p["_id"], "category": p["category"], "state": p["state"]}
                        for p in self.store.of_proposal(proposal["_id"])]
        return view

    def _policy(self):
        return domain.Policy.from_config(self.config)

    def _jurisdiction(self):
        return self.config.get("OPEN311_JURISDICTION", "demo-county")


def no_petition(petition_id):
    return NotFound(f"No petition {petition_id!r}; check the id returned when it was raised.")
