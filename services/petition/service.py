"""Petition service: residents raise petitions; it follows each one to closure.

    POST /petitions                  raise a petition (201, with its id)
    GET  /petitions/<id>             the petition, without the reporter's personal data
    GET  /petitions/<id>/timeline    every step, with time, service and event id
    GET  /grids                      the grids a petition may name
"""

from functools import partial

from services.petition import domain
from services.petition.schemas import PublicPetition, RaisePetition, TimelineEntry
from services.petition.store import PetitionStore
from shared.consumers import subscribe
from shared.errors import NotFound
from shared.http import http, json_response, load_json
from shared.outbox import OutboxRelay
from shared.service import PlatformService
from shared.storage import Storage


class PetitionService(PlatformService):
    name = "petition"

    store = Storage(PetitionStore)
    relay = OutboxRelay("petitions")

    @http("POST", "/petitions")
    def raise_petition(self, request):
        data = load_json(request, RaisePetition())
        petition, events = domain.raise_petition(
            domain.new_petition_id(), data, self.store.grid(data["grid_id"]), self.correlation_id)
        self.store.add(petition, events)
        return json_response(PublicPetition().dump(petition), status=201,
                             headers={"Location": f"/petitions/{petition['_id']}"})

    @http("GET", "/petitions/<petition_id>")
    def get_petition(self, request, petition_id):
        return json_response(PublicPetition().dump(self._petition(petition_id)))

    @http("GET", "/petitions/<petition_id>/timeline")
    def get_timeline(self, request, petition_id):
        petition = self._petition(petition_id)
        return json_response({"petition_id": petition_id, "stage": petition["stage"],
                              "timeline": TimelineEntry(many=True).dump(domain.timeline(petition))})

    @http("GET", "/grids")
    def list_grids(self, request):
        return json_response({"grids": [{"id": g["_id"], "name": g["name"],
                                         "community_id": g["community_id"]}
                                        for g in self.store.grids()]})

    @subscribe("petition.dispatched.v1")
    @subscribe("task.opened.v1")
    @subscribe("task.claimed.v1")
    @subscribe("task.completed.v1")
    @subscribe("funds.settled.v1")
    def follow(self, event):
        petition_id = event.data["petition_id"]
        if self.store.follow(petition_id, partial(domain.follow, event), event.key) is None:
            raise NotFound(f"petition {petition_id} is not stored here")

    @subscribe("grid.registered.v1")
    def track_grid(self, event):
        self.store.track_grid(event.data)

    def _petition(self, petition_id):
        petition = self.store.get(petition_id)
        if petition is None:
            raise NotFound(f"No petition {petition_id!r}; check the id returned when it was raised.")
        return petition
