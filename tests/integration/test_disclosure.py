"""A community's public page (居务公开) on the real broker and database, read over HTTP
without signing in: the grid service builds it from the events it receives. The test
plays the petition and funding services, whose residents and staff wrote names, phone
numbers and addresses wherever they could; none of it reaches the page."""

from datetime import timedelta

import requests

from shared.catalogue import CATALOGUE
from shared.events import new_event, now
from tests.conftest import poll
from tests.integration.test_grid_service import grid  # noqa: F401 (a fixture)

PERSONAL = ("Wang Fang", "王芳", "13800138000", "wang.fang@example.com", "5 Hexi Lane",
            "30.2745", "vol-17", "team-drain-repair")
TITLE = "<script>alert('lift')</script> 5号楼加装电梯 A lift for building 5"


def publish(broker, type, subject, event_id=None, **data):
    event = new_event(CATALOGUE, type, CATALOGUE.producer_of(type), subject, data, "disclosure")
    broker.publish_event({**event, "id": event_id or event["id"]})


def dispatched(broker, petition_id, category):
    at = now()
    publish(broker, "petition.dispatched.v1", petition_id, petition_id=petition_id,
            grid_id="g01", community_id="c-hexi", category=category, round=1, rule_id="r1",
            handler={"kind": "volunteer_team", "team_id": "team-drain-repair",
                     "name": "Wang Fang 13800138000"},
            funding={"department_id": "housing", "budget_line": "sanitation",
                     "fiscal_year": at.year, "estimate_fen": 12_000,
                     "centre_id": "centre-c-hexi"},
            acknowledge_by=at + timedelta(hours=2), due_by=at + timedelta(days=3))


def proposal(broker, type, proposal_id, community_id="c-hexi", **data):
    publish(broker, type, proposal_id, proposal_id=proposal_id, community_id=community_id,
            **data)


def test_the_public_page_shows_rates_proposals_notices_and_money_but_no_personal_data(
        grid, broker):  # noqa: F811
    api = grid()
    year = now().year
    # Two orders in Hexi: one signed for by a volunteer and paid for, one whose funding is
    # blocked.
    dispatched(broker, "P-disc-1", "drains")
    publish(broker, "petition.acknowledged.v1", "P-disc-1", petition_id="P-disc-1", round=1,
            actor="vol-17", reason="Wang Fang at 5 Hexi Lane, 13800138000")
    settlement = dict(settlement_id="S-disc-1", petition_id="P-disc-1", task_id="T-disc-1",
                      department_id="housing", budget_line="sanitation", fiscal_year=year,
                      centre_id="centre-c-hexi", amount_fen=12_000, currency="CNY")
    publish(broker, "funds.settled.v1", "P-disc-1", event_id="settled-once", **settlement)
    publish(broker, "funds.settled.v1", "P-disc-1", event_id="settled-once", **settlement)
    publish(broker, "funds.settled.v1", "P-disc-1", **settlement)  # announced again
    dispatched(broker, "P-disc-2", "street_lighting")
    publish(broker, "funds.blocked.v1", "P-disc-2", petition_id="P-disc-2", round=1,
            department_id="housing", budget_line="public_infrastructure", fiscal_year=year,
            amount_fen=50_000, currency="CNY", stage="hold", available_fen=0,
            reason="wang.fang@example.com asked vol-17 to wait")
    # A proposal through review, vote and public notice, with an objection.
    proposal(broker, "proposal.submitted.v1", "R-disc-1", state="under_review", title=TITLE)
    proposal(broker, "proposal.reviewed.v1", "R-disc-1", state="awaiting_vote",
             decision="endorse", opinion="王芳 (13800138000) of 5 Hexi Lane supports it")
    proposal(broker, "proposal.voted.v1", "R-disc-1", state="on_notice", motion="adopt",
             members=25, present=18, in_favour=12, against=4, abstaining=2, quorate=True,
             carried=True)
    proposal(broker, "proposal.objected.v1", "R-disc-1", state="on_notice", objection_id="O1")
    # Another community's proposal is not Hexi's to show.
    proposal(broker, "proposal.submitted.v1", "R-disc-2", community_id="c-other",
             state="under_review", title="Not Hexi's")

    def page():
        answer = api.get("/public/communities/c-hexi.json")  # as staff: not rate-limited
        assert answer.status_code == 200, answer.text
        return answer.json()

    poll(lambda: (p := page())["received"]["orders"] and p["rates"]["month"]["dispatched"] == 2
         and p["proposals"] and p["proposals"][0]["objections"] == 1
         and len(p["notices"]) == 2, what="the events disclosed")

    # Anyone may read it, without a token.
    feed = requests.get(f"{api.base}/public/communities/c-hexi.json", timeout=10)
    html = requests.get(f"{api.base}/public/communities/c-hexi", timeout=10)
    assert feed.status_code == html.status_code == 200
    assert html.headers["Content-Type"].startswith("text/html")
    view = feed.json()
    assert view["name"] and any(g["id"] == "g01" for g in view["grids"])
    # The order signed for in time counts in this month's response rate.
    month = view["rates"]["month"]
    assert (month["dispatched"], month["acknowledged_on_time"]) == (2, 1)
    assert len(view["rates"]["trend"]) == 12
    # The settlement counts once, however often it was announced.
    assert view["received"]["total_fen"] == 12_000
    assert view["received"]["by_line"] == [{"budget_line": "sanitation", "amount_fen": 12_000}]
    assert [(o["category"], o["amount_fen"]) for o in view["received"]["orders"]] == [
        ("drains", 12_000)]
    (only,) = view["proposals"]
    assert (only["title"], only["state"]) == (TITLE, "on_notice")
    assert only["votes"][0]["in_favour"] == 12 and only["votes"][0]["carried"]
    assert {n["kind"] for n in view["notices"]} == {"proposal_on_notice", "funding_blocked"}

    # Nothing personal anywhere, nor the ids that lead to a resident's petition.
    for text in (*PERSONAL, "P-disc", "S-disc", "T-disc"):
        assert text not in feed.text and text not in html.text, text
    # A title is shown as text, never run as markup.
    assert "<script>" not in html.text and "&lt;script&gt;" in html.text
    assert "script-src" not in html.headers["Content-Security-Policy"]


def test_a_place_that_is_not_a_community_has_no_public_page(grid):  # noqa: F811
    api = grid()
    assert requests.get(f"{api.base}/public/communities/g01.json", timeout=10).status_code == 404
    assert requests.get(f"{api.base}/public/communities/c-nowhere", timeout=10).status_code == 404


def test_anonymous_readers_are_rate_limited(grid):  # noqa: F811
    api = grid(PUBLIC_READS_PER_MINUTE=2)
    answers = [requests.get(f"{api.base}/public/communities/c-hexi.json", timeout=10)
               for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[-1].headers["Retry-After"]
