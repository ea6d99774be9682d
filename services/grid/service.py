"""Grid service: the registry of places and butler teams, and the dispatcher.

    PUT  /registry                 import the whole registry: JSON, or multipart CSV files
    GET  /registry                 export it as JSON; GET /registry/<table>.csv as CSV
    GET  /grids/<id>               one grid;  GET /locate?lat=&lng=  the grid at a point
    GET  /places/<id>              any place, with households and population rolled up
    PUT  /dispatch-rules           replace the rule table (each revision is kept)
    GET  /dispatch-rules[?revision=N]
    PUT  /calendar, GET /calendar  the working calendar time limits count on
    GET  /dispatches/<petition>    every round, each with its explanation and clocks
    POST /dispatches/<petition>/extension-request    the handler asks for more time
    POST /dispatches/<petition>/extension-decision   the dispatch centre decides
    GET  /arbitrations             orders awaiting a ruling
    POST /arbitrations/<petition>  the ruling: final
"""

import uuid
from functools import partial

from marshmallow import ValidationError
from nameko.dependency_providers import Config
from prometheus_client import Counter
from werkzeug.wrappers import Response

from services.grid import accounts, dispatcher, registry, registry_files
from services.grid.assessment_service import Assessment
from services.grid.calendar import WorkCalendar
from services.grid.disclosure_service import Disclosure
from services.grid.evaluation_service import Evaluation
from services.grid.schemas import (
    AccountView,
    AwaitingRuling,
    CalendarDefinition,
    Dispatch,
    Dispatches,
    ExtensionDecision,
    ExtensionRequest,
    GridView,
    PublicGridView,
    Registry,
    Revision,
    RuleRevision,
    RulesQuery,
    RuleTable,
    Ruling,
    ServiceAccountCreated,
    ServiceAccountDefinition,
    Token,
    TokenRequest,
    UserDefinition,
)
from services.grid.spot_check_service import SpotChecks
from services.grid.store import GridStore
from shared import geo
from shared.auth import ADMIN_ONLY, AUDITOR, DISPATCHER, PUBLIC, STAFF, TOKEN_MINUTES, Signer
from shared.catalogue import Location
from shared.consumers import subscribe
from shared.errors import InvalidFields, NotFound
from shared.events import InvalidEvent, now
from shared.http import ApiError, http, json_response, load_json
from shared.outbox import OutboxRelay
from shared.schemas import one
from shared.service import PlatformService
from shared.storage import Storage, captured
from shared.timers import every

# A city's registry (tens of thousands of grids) is one document.
REGISTRY_MAX_BYTES = 32 * 1024 * 1024

DISPATCHED = Counter("grid_dispatches_total", "Orders dispatched, by grid", ["grid"])
ACKNOWLEDGED = Counter("grid_acknowledgements_total", "Orders acknowledged, by grid and "
                       "whether within the time limit", ["grid", "on_time"])
ESCALATED = Counter("grid_escalations_total", "Supervision one level up (督办), by grid and "
                    "level (1 workstation, 2 sub-district)", ["grid", "level"])
RETURNED = Counter("grid_returns_total", "Orders returned by their handler (退单), by grid",
                   ["grid"])


class GridService(Evaluation, Assessment, SpotChecks, Disclosure, PlatformService):
    name = "grid"

    store = Storage(GridStore)
    relay = OutboxRelay("grids", "dispatches", "spot_checks")
    config = Config()
    signer = Signer()

    # The registry

    @http("PUT", "/registry", allow=ADMIN_ONLY)
    def import_registry(self, request):
        """Import the whole registry: a JSON document, or the CSV files as multipart/form-data.

        The answer counts the places of each level. See GET /registry for the JSON shape and
        GET /registry/<table>.csv for the CSV files.
        """
        document = self._registry_from(request)
        registry.check_registry(document)
        self.store.save_places(document)
        for grid_id, record in registry.grid_records(document):
            self.store.register_grid(grid_id, partial(
                registry.register_grid, grid_id, record, correlation_id=self.correlation_id))
        return json_response({level: len(document[level]) for level in registry.LEVELS})

    @http("GET", "/registry", allow=(AUDITOR,), returns=Registry)
    def export_registry(self, request):
        """The whole registry as JSON, in the shape PUT /registry imports."""
        return json_response(self.store.registry())

    @http("GET", "/registry/<table>.csv", allow=(AUDITOR,), media_type="text/csv")
    def export_table(self, request, table):
        """One table of the registry as CSV (districts, sub_districts, communities, ...)."""
        files = registry_files.to_csv(self.store.registry())
        if f"{table}.csv" not in files:
            raise NotFound(f"No table {table!r}; export one of {', '.join(files)}.")
        return Response(files[f"{table}.csv"], mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={table}.csv"})

    # Accounts and sign-in

    @http("POST", "/auth/token", allow=PUBLIC, body=TokenRequest, returns=Token, limit="login")
    def issue_token(self, request, body):
        """Sign in: a short-lived bearer token for a user (grant_type password) or another
        system's service account (grant_type client_credentials)."""
        kind, account_id, secret = ("user", body["username"], body["password"]) \
            if body["grant_type"] == "password" else \
            ("service", body["client_id"], body["client_secret"])
        account = accounts.authenticate(self.store.account(kind, account_id), secret)
        caller = accounts.principal(account, kind, self.store.area(account.get("area_id")))
        minutes = int(self.config.get("AUTH_TOKEN_MINUTES") or TOKEN_MINUTES)
        return json_response({"access_token": self.signer.issue(caller, now(), minutes),
                              "token_type": "Bearer", "expires_in": minutes * 60})

    @http("PUT", "/users/<username>", allow=ADMIN_ONLY, body=UserDefinition, returns=AccountView)
    def put_user(self, request, username, body):
        """Create or change a person's account: role, scope, password."""
        accounts.check_scope(body, self.store.is_place)
        password = body.pop("password")
        saved = self.store.save_account("user", username, {
            **body, "secret_hash": accounts.hash_secret(password)})
        return json_response(one(AccountView).dump({"id": username, **saved}))

    @http("GET", "/users/<username>", allow=(AUDITOR,), returns=AccountView)
    def get_user(self, request, username):
        """A person's account, without its password."""
        return json_response(one(AccountView).dump({"id": username, **self._account("user",
                                                                                 username)}))

    @http("PUT", "/service-accounts/<client_id>", allow=ADMIN_ONLY, body=ServiceAccountDefinition,
          returns=ServiceAccountCreated)
    def put_service_account(self, request, client_id, body):
        """Create or change another system's account; its secret is shown once, when it is
        created or renewed."""
        accounts.check_scope(body, self.store.is_place)
        fields = {k: v for k, v in body.items() if k != "renew_secret"}
        secret = None
        if body["renew_secret"] or self.store.account("service", client_id) is None:
            secret = accounts.new_client_secret()
            fields["secret_hash"] = accounts.hash_secret(secret)
        saved = self.store.save_account("service", client_id, fields)
        view = one(ServiceAccountCreated).dump({"id": client_id, **saved})
        return json_response({**view, "client_secret": secret} if secret else view)

    @http("GET", "/grids/<grid_id>", allow=(*STAFF, AUDITOR), returns=GridView)
    def get_grid(self, request, grid_id):
        """One grid: where it sits in the hierarchy, its butler team and boundary."""
        self.caller.check(self.caller.covers_grid(grid_id), f"grid {grid_id}")
        return json_response(self._grid_view(self._grid(grid_id)))

    @http("GET", "/locate", allow=PUBLIC, query=Location(only=("lat", "lng")),
          returns=PublicGridView)
    def locate(self, request, query):
        """The grid a point lies in, and where it sits in the hierarchy."""
        point = query
        grid = self.store.grid_at(point["lat"], point["lng"])
        if grid is None:
            raise NotFound(f"({point['lat']}, {point['lng']}) lies in no grid of this city; "
                           "check the point (latitude first), or the grid boundaries.")
        return json_response(one(PublicGridView).dump(self._grid_view(grid)))

    @http("GET", "/places/<place_id>", allow=(AUDITOR,))
    def get_place(self, request, place_id):
        """Any place, with the households and population of its grids rolled up."""
        level, place = self.store.place(place_id)
        if place is None:
            raise NotFound(f"No place {place_id!r}; export the registry to see every id.")
        rolled_up = registry.figures(self.store.registry()).get(place_id)
        place = {k: v for k, v in place.items() if k not in ("boundary", "tiles")}
        return json_response({"level": level, **place, "from_grids": rolled_up})

    # Rules and calendar

    @http("PUT", "/dispatch-rules", allow=ADMIN_ONLY, body=RuleTable, returns=Revision)
    def replace_rules(self, request, body):
        """Replace the rule table; every revision is kept."""
        return json_response({"revision": self.store.replace_rules(body["rules"])})

    @http("GET", "/dispatch-rules", allow=(DISPATCHER, AUDITOR), query=RulesQuery,
          returns=RuleRevision)
    def get_rules(self, request, query):
        """The rule table in force, or an earlier revision."""
        if "revision" not in query:
            return json_response(self.store.rules())
        found = self.store.rule_history(query["revision"])
        if found is None:
            raise NotFound(f"No revision {query['revision']}; revisions count from 1 up to "
                           "the one in force.")
        return json_response({"revision": found["_id"], "rules": found["rules"]})

    @http("PUT", "/calendar", allow=ADMIN_ONLY, body=CalendarDefinition, returns=CalendarDefinition)
    def put_calendar(self, request, body):
        """Set the working calendar that time limits count on."""
        calendar = WorkCalendar.from_document(body)
        self.store.save_calendar(calendar)
        return json_response(calendar.to_document())

    @http("GET", "/calendar", allow=PUBLIC, returns=CalendarDefinition)
    def get_calendar(self, request):
        """The working calendar: time zone, weekend, working hours, holidays, make-up days."""
        return json_response(self.store.calendar().to_document())

    # Dispatches

    @http("GET", "/dispatches/<petition_id>", allow=(*STAFF, AUDITOR), returns=Dispatches)
    def get_dispatches(self, request, petition_id):
        """Every dispatch round of a petition, each with its explanation and clocks."""
        records = self.store.dispatches_of(petition_id)
        if not records:
            raise NotFound(f"Petition {petition_id!r} has not been dispatched (yet).")
        self._check_grid(records[-1]["grid_id"])
        return json_response({"petition_id": petition_id,
                              "rounds": one(Dispatch, many=True).dump(records)})

    @http("POST", "/dispatches/<petition_id>/extension-request", allow=STAFF,
          body=ExtensionRequest, returns=Dispatch)
    def request_extension(self, request, petition_id, body):
        """The handler asks for more time (延期申请)."""
        return self._change_latest(petition_id, partial(dispatcher.request_extension, body))

    @http("POST", "/dispatches/<petition_id>/extension-decision", allow=(DISPATCHER,),
          body=ExtensionDecision, returns=Dispatch)
    def decide_extension(self, request, petition_id, body):
        """The dispatch centre grants or refuses the extension."""
        return self._change_latest(petition_id, partial(dispatcher.decide_extension, body))

    @http("GET", "/arbitrations", allow=(DISPATCHER, AUDITOR), returns=AwaitingRuling)
    def list_arbitrations(self, request):
        """Orders returned too often, awaiting the dispatch centre's ruling (in your grids)."""
        return json_response({"awaiting_ruling": one(Dispatch, many=True).dump(
            [d for d in self.store.awaiting_ruling() if self.caller.covers_grid(d["grid_id"])])})

    @http("POST", "/arbitrations/<petition_id>", allow=(DISPATCHER,), body=Ruling,
          returns=Dispatch)
    def rule(self, request, petition_id, body):
        """The ruling on an order returned too often: final, it cannot be returned again."""
        ruling = body
        record = self._latest(petition_id)
        self._check_grid(record["grid_id"])
        grid = self._grid(record["grid_id"])
        saved = self.store.change_dispatch(record["_id"], partial(
            dispatcher.rule_by_arbiter, ruling, grid, self.store.volunteer_teams(), self._policy(),
            self.store.calendar(), now(), self.correlation_id))
        DISPATCHED.labels(grid["_id"]).inc()
        return json_response(one(Dispatch).dump(saved))

    @subscribe("petition.accepted.v1")
    def dispatch(self, event):
        self._dispatch(event)

    @subscribe("petition.returned.v1")
    @subscribe("petition.reopened.v1")
    def redispatch(self, event):
        previous = dispatcher.dispatch_id(event.data["petition_id"], event.data["round"] - 1)
        self.store.change_dispatch(previous, dispatcher.superseded)
        self._dispatch(event)

    @subscribe("petition.acknowledged.v1")
    @subscribe("petition.resolved.v1")
    @subscribe("petition.rejected.v1")
    def track_progress(self, event):
        petition_id, round = event.data["petition_id"], event.data.get("round")
        if round is None:
            record = self.store.latest_dispatch(petition_id)
            if record is None:
                return  # not dispatched yet: no clock of ours runs
            round = record["round"]
        # An earlier round's record is closed, and progress leaves a closed record alone.
        decide, saved = captured(partial(dispatcher.progress, event.type, event.time,
                                          self._policy(), self.store.calendar()))
        record = self.store.change_dispatch(dispatcher.dispatch_id(petition_id, round), decide,
                                            handled=event.key)
        on_time = (saved.get("change") and saved["change"].set.get("acknowledged_on_time"))
        if on_time is not None:
            ACKNOWLEDGED.labels(record["grid_id"], str(on_time).lower()).inc()

    @subscribe("team.registered.v1")
    def track_team(self, event):
        self.store.track_team(event.data)

    @every("DISPATCH_SWEEP_SECONDS", 60)
    def run_clocks(self):
        """Remind (催办) and escalate (督办) what has fallen due."""
        policy, calendar, at = self._policy(), self.store.calendar(), now()
        correlation_id = uuid.uuid4().hex
        for record_id in self.store.clocks_due(at):
            decide, saved = captured(partial(dispatcher.run_clocks, at, policy, calendar,
                                              correlation_id))
            self.store.change_dispatch(record_id, decide)
            for event in saved["change"].events if saved.get("change") else []:
                if event["type"] == "dispatch.escalated.v1":
                    ESCALATED.labels(event["data"]["grid_id"], str(event["data"]["level"])).inc()

    # Helpers

    def _dispatch(self, event):
        request = event.data
        grid = self.store.grid(request["grid_id"])
        if grid is None:
            raise InvalidEvent(f"petition {request['petition_id']} names unknown grid "
                               f"{request['grid_id']!r}")
        rules = self.store.rules()["rules"]
        teams = self.store.volunteer_teams()
        keys = dispatcher.handlers_to_balance(request, grid, rules, teams)
        previous = (self.store.dispatch(request["petition_id"], request["round"] - 1)
                    if request["round"] > 1 else None)
        record, events = dispatcher.dispatch(
            request, grid, rules, teams, self.store.open_load(keys), previous, self._policy(),
            self.store.calendar(), now(), event)
        if self.store.add_dispatch(record, events, event.key):
            if record["open"]:
                DISPATCHED.labels(grid["_id"]).inc()
            if event.type == "petition.returned.v1":
                RETURNED.labels(grid["_id"]).inc()

    def _registry_from(self, request):
        if request.mimetype == "multipart/form-data":
            if request.content_length is None or request.content_length > REGISTRY_MAX_BYTES:
                raise ApiError(413, "body_too_large", "Send at most 32 MiB of CSV files, with "
                               "a Content-Length.")
            files = {f.filename or name: f.read().decode("utf-8-sig")
                     for name, f in request.files.items()}
            document = registry_files.from_csv(files)
            try:
                return one(Registry).load(document)
            except ValidationError as exc:
                raise InvalidFields("Some rows are invalid; correct them and import again.",
                                    fields=registry_files.csv_fields(exc.messages)) from None
        return load_json(request, one(Registry), max_bytes=REGISTRY_MAX_BYTES)

    def _account(self, kind, account_id):
        account = self.store.account(kind, account_id)
        if account is None:
            raise NotFound(f"No account {account_id!r}; create it with PUT first.")
        return account

    def _check_grid(self, grid_id):
        self.caller.check(self.caller.covers_grid(grid_id), "this petition's grid")

    def _grid(self, grid_id):
        grid = self.store.grid(grid_id)
        if grid is None:
            raise NotFound(f"No grid {grid_id!r}; import it with PUT /registry first.")
        return grid

    def _grid_view(self, grid):
        fields = ("name", "workstation_id", "community_id", "community_type", "sub_district_id",
                  "district_id", "households", "population", "butler_team", "revision")
        return {"id": grid["_id"], **{k: grid.get(k) for k in fields},
                "boundary": geo.from_text(grid.get("boundary"))}

    def _latest(self, petition_id):
        record = self.store.latest_dispatch(petition_id)
        if record is None:
            raise NotFound(f"Petition {petition_id!r} has not been dispatched (yet).")
        return record

    def _change_latest(self, petition_id, decide):
        record = self._latest(petition_id)
        self._check_grid(record["grid_id"])
        saved = self.store.change_dispatch(record["_id"], partial(
            decide, now(), self._policy(), self.store.calendar(), self.correlation_id))
        return json_response(one(Dispatch).dump(saved))

    def _policy(self):
        return dispatcher.DispatchPolicy.from_config(self.config)


