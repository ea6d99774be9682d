"""The grid service's public disclosure (居务公开): each community's page, for anyone,
without signing in, built from the events it receives and the evaluation's facts; it
reads no other service's database.

    GET /public/communities/<id>        the page (HTML)
    GET /public/communities/<id>.json   the same, as JSON
"""

from functools import partial

from services.grid import disclosure, disclosure_html, evaluation
from services.grid.disclosure import KEPT
from services.grid.disclosure_store import DisclosureStore
from services.grid.schemas import DisclosedCommunity
from shared.auth import PUBLIC
from shared.catalogue import CATALOGUE
from shared.consumers import subscribe_all
from shared.errors import NotFound
from shared.events import data_as_sent, now
from shared.http import http, json_response
from shared.schemas import one
from shared.storage import Storage


class Disclosure:
    """Mixed into GridService: the registry it owns names each community and its grids."""

    disclosure = Storage(DisclosureStore)

    @subscribe_all(KEPT)
    def disclose(self, event):
        data = data_as_sent(CATALOGUE, event)
        subject = disclosure.subject_of(event.type, data)
        entry = self.disclosure.record(event, subject, disclosure.admit(event.type, data))
        kind, subject_id = subject.split(":", 1)
        self.disclosure.keep(kind, subject_id, partial(
            disclosure.fold_in, kind, subject_id, event=entry,
            log=partial(self.disclosure.events_of, subject)), handled=event.key)

    @http("GET", "/public/communities/<community_id>.json", allow=PUBLIC,
          returns=DisclosedCommunity, limit="public")
    def public_community_json(self, request, community_id):
        """A community's public disclosure (居务公开): its three rates this month and over
        12 months, its residents' proposals and votes, its notices, and the money it
        received under funds follow the task, by budget line and month. No personal data."""
        return json_response(self._public_page(community_id),
                             headers={"Cache-Control": disclosure_html.HEADERS["Cache-Control"]})

    @http("GET", "/public/communities/<community_id>", allow=PUBLIC, media_type="text/html",
          limit="public")
    def public_community_page(self, request, community_id):
        """The same as a page for residents' phones, in Chinese with English."""
        return disclosure_html.page(self._public_page(community_id))

    @http("GET", "/public/disclosure.css", allow=PUBLIC, media_type="text/css")
    def public_stylesheet(self, request):
        """The public pages' stylesheet."""
        return disclosure_html.stylesheet()

    def _public_page(self, community_id):
        level, community = self.store.place(community_id)
        if level != "communities":
            raise NotFound(f"No community {community_id!r}.")
        today = now()
        since = disclosure.month_start(disclosure.months_up_to(today)[0])
        facts = self.evaluation.facts_with(evaluation.facts_field("community"), community_id)
        view = disclosure.community_page(
            community, self.store.grids_in(community_id),
            evaluation.units_of(facts, "community", community_id),
            self.disclosure.proposals_of(community_id, since),
            self.disclosure.orders_of(community_id, since), today)
        return one(DisclosedCommunity).dump(view)
