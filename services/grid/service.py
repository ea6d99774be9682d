"""Grid service: the registry of places and butler teams, and the dispatcher.

    PUT /registry          import communities, workstations and grids (idempotent)
    GET /grids/<id>        one grid
    PUT /dispatch-rules    replace the rule table (each version is kept)
    GET /dispatch-rules    the current rule table and its revision
    GET /dispatches/<petition_id>  every round of its dispatch (a return or reopening adds one)
"""

from functools import partial

from services.grid import domain
from services.grid.schemas import Dispatch, Registry, RuleTable
from services.grid.store import GridStore
from shared import geo
from shared.consumers import subscribe
from shared.errors import InvalidFields, NotFound
from shared.events import InvalidEvent, now
from shared.http import http, json_response, load_json
from shared.outbox import OutboxRelay
from shared.service import PlatformService
from shared.storage import Storage

# A city's registry (tens of thousands of grids) is one document.
REGISTRY_MAX_BYTES = 32 * 1024 * 1024


class GridService(PlatformService):
    name = "grid"

    store = Storage(GridStore)
    relay = OutboxRelay("grids", "dispatches")

    @http("PUT", "/registry")
    def import_registry(self, request):
        registry = load_json(request, Registry(), max_bytes=REGISTRY_MAX_BYTES)
        domain.check_registry(registry)
        self.store.save_places(registry["communities"], registry["workstations"])
        communities = {c["id"]: c for c in registry["communities"]}
        workstations = {w["id"]: w for w in registry["workstations"]}
        for grid in registry["grids"]:
            workstation = workstations[grid["workstation_id"]]
            record = domain.grid_record(grid, workstation, communities[workstation["community_id"]])
            self.store.register_grid(grid["id"], partial(
                domain.register_grid, grid["id"], record, correlation_id=self.correlation_id))
        return json_response({key: len(registry[key]) for key in registry})

    @http("GET", "/grids/<grid_id>")
    def get_grid(self, request, grid_id):
        grid = self.store.grid(grid_id)
        if grid is None:
            raise NotFound(f"No grid {grid_id!r}; import it with PUT /registry first.")
        fields = ("name", "workstation_id", "community_id", "community_type", "households",
                  "population", "revision")
        return json_response({"id": grid_id, **{k: grid[k] for k in fields},
                              "boundary": geo.from_text(grid.get("boundary"))})

    @http("PUT", "/dispatch-rules")
    def replace_rules(self, request):
        table = load_json(request, RuleTable())
        for i, rule in enumerate(table["rules"]):
            if rule["handler"]["kind"] == "volunteer_team" and not rule["handler"].get("team_id"):
                raise InvalidFields("A volunteer-team rule must name its team.", fields={
                    "rules": {i: {"handler": {"team_id": ["Give the team's id."]}}}})
        return json_response({"revision": self.store.replace_rules(table["rules"])})

    @http("GET", "/dispatch-rules")
    def get_rules(self, request):
        return json_response(self.store.rules())

    @http("GET", "/dispatches/<petition_id>")
    def get_dispatches(self, request, petition_id):
        records = self.store.dispatches_of(petition_id)
        if not records:
            raise NotFound(f"Petition {petition_id!r} has not been dispatched (yet).")
        return json_response({"petition_id": petition_id,
                              "rounds": Dispatch(many=True).dump(records)})

    @subscribe("petition.accepted.v1")
    def dispatch(self, event):
        self._dispatch(event)

    @subscribe("petition.returned.v1")
    @subscribe("petition.reopened.v1")
    def redispatch(self, event):
        self._dispatch(event)

    def _dispatch(self, event):
        request = event.data
        grid = self.store.grid(request["grid_id"])
        if grid is None:
            raise InvalidEvent(f"petition {request['petition_id']} names unknown grid "
                               f"{request['grid_id']!r}")
        previous = self.store.dispatch(request["petition_id"], request["round"] - 1)
        record, dispatched = domain.dispatch(request, grid, self.store.rules()["rules"],
                                             now(), event, previous)
        self.store.add_dispatch(record, dispatched, event.key)
