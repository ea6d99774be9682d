"""Public disclosure (居务公开): what a community shows everyone, and nothing more.

A community's public page carries its three rates (三率), its residents' proposals
(居民议案) with their votes, its notices, and the money it received under funds
follow the task (费随事转). It is read by anyone, without signing in, so it must hold
no personal data: no names, phone numbers, addresses, exact places or the ids of
residents, volunteers and staff.

That is enforced by an allow-list, never a deny-list: ``KEPT`` names, for each event
the page is built from, the only fields of its data that are kept at all; everything
else (free text such as reasons and opinions, handlers, actors) is dropped when the
event arrives, so a field a producer adds tomorrow stays out until someone decides it
is public. The views below then choose, field by field, what of the kept facts is
shown (petition ids are kept to join money to an order, and never shown).

The events are folded like the evaluation's (``shared.folds``): in order of time then
id, so a late or redelivered event leaves the same result.

Plain Python: nothing here knows of nameko or the database.
"""

from collections import defaultdict
from datetime import UTC, datetime

from services.grid import evaluation
from shared import folds

# The allow-list: event type -> the fields of its data that may be kept.
KEPT = {
    # Places an order in its community and says what kind of work it was; the handler
    # (a team, a role, a person's name) is not kept.
    "petition.dispatched.v1": ("petition_id", "round", "community_id", "category"),
    "funds.settled.v1": ("settlement_id", "petition_id", "department_id", "budget_line",
                         "fiscal_year", "amount_fen"),
    # Its reason is free text written by staff; the stage and the line say enough.
    "funds.blocked.v1": ("petition_id", "round", "department_id", "budget_line",
                         "fiscal_year", "amount_fen", "stage"),
    # Titles are public by the proposal procedure; the submitters' display name, the
    # text, the branch's opinion and the objectors are not carried or not kept.
    "proposal.submitted.v1": ("proposal_id", "community_id", "state", "title"),
    "proposal.reviewed.v1": ("proposal_id", "community_id", "state", "decision"),
    "proposal.voted.v1": ("proposal_id", "community_id", "state", "motion", "members",
                          "present", "in_favour", "against", "abstaining", "quorate",
                          "carried"),
    "proposal.objected.v1": ("proposal_id", "community_id", "state"),
    "proposal.concluded.v1": ("proposal_id", "community_id", "state", "outcome"),
}
ORDER_EVENTS = ("petition.dispatched.v1", "funds.settled.v1", "funds.blocked.v1")
PROPOSAL_EVENTS = tuple(t for t in KEPT if t.startswith("proposal."))
FINAL_STATES = ("adopted", "rejected")

BUDGET_LINES = {
    "service_centre_operations": "服务中心运转 Service-centre operations",
    "purchased_assistant_services": "购买协管服务 Purchased assistant services",
    "public_infrastructure": "公共基础设施 Public infrastructure",
    "sanitation": "环境卫生 Sanitation",
    "training": "培训 Training",
    "sports_and_culture": "文体 Sports and culture",
    "comprehensive_governance": "综治 Comprehensive governance",
}


def admit(event_type, data):
    """Only the allowed fields of an event's data."""
    return {field: data[field] for field in KEPT[event_type] if field in data}


def subject_of(event_type, data):
    """The document an event folds into: a proposal, or an order (a petition's money)."""
    if event_type in PROPOSAL_EVENTS:
        return f"proposal:{data['proposal_id']}"
    return f"order:{data['petition_id']}"


def fold_proposal(proposal_id, events):
    """A proposal as the public sees it, from its (admitted) events."""
    return folds.fold(new_proposal, _apply_to_proposal, proposal_id, events)


def fold_order(petition_id, events):
    """The money of one order (a petition): where it belongs, what was settled to the
    community service centre and when funding was blocked. A settlement counts once
    by its id, however many events announce it."""
    return folds.fold(new_order, _apply_to_order, petition_id, events)


def fold_in(kind, subject_id, stored, event, log):
    """A proposal or an order as stored (None before its first event) with ``event``
    folded in (see ``shared.folds``)."""
    start, apply = {"proposal": (new_proposal, _apply_to_proposal),
                    "order": (new_order, _apply_to_order)}[kind]
    return folds.fold_in(start, apply, subject_id, stored, event, log)


def new_proposal(proposal_id):
    return {"_id": proposal_id, "community_id": None, "title": None, "state": None,
            "submitted_at": None, "updated_at": None, "reviews": [], "votes": [],
            "objections": 0, "notices": [], "final": False}


def _apply_to_proposal(proposal, event):
    proposal = dict(proposal)
    data, at, kind = event["data"], event["time"], event["type"]
    proposal["community_id"] = data["community_id"]
    proposal["state"], proposal["updated_at"] = data["state"], at
    if kind == "proposal.submitted.v1":
        proposal["title"], proposal["submitted_at"] = data["title"], at
    elif kind == "proposal.reviewed.v1":
        proposal["reviews"] = [*proposal["reviews"], {"at": at, "decision": data["decision"]}]
    elif kind == "proposal.voted.v1":
        tally = {k: data[k] for k in KEPT[kind] if k not in ("proposal_id", "community_id")}
        proposal["votes"] = [*proposal["votes"], {"at": at, **tally}]
        if data["state"] == "on_notice":
            outcome = "adopted" if (data["motion"] == "adopt") == data["carried"] \
                else "rejected"
            proposal["notices"] = [*proposal["notices"], {
                "at": at, "kind": "proposal_on_notice", "outcome": outcome}]
    elif kind == "proposal.objected.v1":
        proposal["objections"] += 1
    elif kind == "proposal.concluded.v1":
        proposal["notices"] = [*proposal["notices"], {
            "at": at, "kind": "proposal_concluded", "outcome": data["outcome"]}]
    proposal["final"] = proposal["state"] in FINAL_STATES
    return proposal


def new_order(petition_id):
    return {"_id": petition_id, "community_id": None, "category": None, "settlements": [],
            "blocks": [], "money_at": None}


def _apply_to_order(order, event):
    order = dict(order)
    data, at, kind = event["data"], event["time"], event["type"]
    if kind == "petition.dispatched.v1":
        # The first round places the order; later rounds stay in its community.
        order["community_id"] = order["community_id"] or data["community_id"]
        order["category"] = order["category"] or data["category"]
    elif kind == "funds.settled.v1":
        if all(s["settlement_id"] != data["settlement_id"] for s in order["settlements"]):
            order["settlements"] = [*order["settlements"], {
                "at": at, "month": evaluation.month_of(at),
                **{k: data[k] for k in ("settlement_id", "department_id", "budget_line",
                                        "fiscal_year", "amount_fen")}}]
    elif kind == "funds.blocked.v1":
        order["blocks"] = [*order["blocks"], {"at": at, **{k: data[k] for k in (
            "round", "stage", "department_id", "budget_line", "fiscal_year", "amount_fen")}}]
    # Reads select orders by when money last moved: one never funded is never read.
    order["money_at"] = max((m["at"] for m in (*order["settlements"], *order["blocks"])),
                            default=None)
    return order


# The window the page covers: this month and the eleven before it, on local dates.

def months_up_to(today, count=12):
    """``count`` months ending with today's (local), oldest first: ['2025-12', ...]."""
    local = today.astimezone(evaluation.LOCAL)
    year, month = local.year, local.month
    months = []
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def month_start(month):
    """The start of a local month as UTC text, as event times are kept and compared."""
    year, number = map(int, month.split("-"))
    return datetime(year, number, 1, tzinfo=evaluation.LOCAL).astimezone(UTC).isoformat()


# What the page shows

def rates(units, months):
    """The three rates of this month, and of each month of the window (months with
    nothing dispatched included, their rates None)."""
    found = evaluation.figures(units, month_start(months[0]))
    by_month = {entry["period"]: entry for entry in found["trend"]["month"]}
    trend = [by_month.get(m) or {"period": m, **evaluation.three_rates([])} for m in months]
    return {"month": trend[-1], "trend": trend}


def proposal_view(proposal):
    return {"id": proposal["_id"], "title": proposal["title"], "state": proposal["state"],
            "submitted_on": _day(proposal["submitted_at"]),
            "updated_on": _day(proposal["updated_at"]),
            "votes": [{"on": _day(v["at"]), **{k: v[k] for k in (
                "motion", "members", "present", "in_favour", "against", "abstaining",
                "quorate", "carried")}} for v in proposal["votes"]],
            "objections": proposal["objections"]}


def notices(proposals, orders, since):
    """What a resident would look for on the notice board, newest first: each result of
    a vote put on public notice (公示) and how each notice concluded, and each order
    whose funding was blocked (so residents know why the work waits, and on whose
    budget line)."""
    found = [{"on": _day(n["at"]), "at": n["at"], "kind": n["kind"], "outcome": n["outcome"],
              "proposal_id": p["_id"], "title": p["title"]}
             for p in proposals for n in p["notices"] if n["at"] >= since]
    found += [{"on": _day(b["at"]), "at": b["at"], "kind": "funding_blocked",
               "category": o["category"], "stage": b["stage"],
               "department_id": b["department_id"], "budget_line": b["budget_line"],
               "amount_fen": b["amount_fen"]}
              for o in orders for b in o["blocks"] if b["at"] >= since]
    return [{k: v for k, v in n.items() if k != "at"}
            for n in sorted(found, key=lambda n: n["at"], reverse=True)]


def received(orders, months):
    """The money the community received in the window: totals by budget line, by month
    (and line within it), and each settled order with its category and amount."""
    window = set(months)
    settled = sorted(({"at": s["at"], "on": _day(s["at"]), "month": s["month"],
                       "category": o["category"], "department_id": s["department_id"],
                       "budget_line": s["budget_line"], "fiscal_year": s["fiscal_year"],
                       "amount_fen": s["amount_fen"]}
                      for o in orders for s in o["settlements"] if s["month"] in window),
                     key=lambda s: s["at"], reverse=True)
    by_line, by_month = defaultdict(int), {m: defaultdict(int) for m in months}
    for s in settled:
        by_line[s["budget_line"]] += s["amount_fen"]
        by_month[s["month"]][s["budget_line"]] += s["amount_fen"]
    return {
        "total_fen": sum(by_line.values()),
        "by_line": [{"budget_line": line, "amount_fen": by_line[line]} for line in sorted(by_line)],
        "by_month": [{"month": m, "amount_fen": sum(lines.values()),
                      "lines": [{"budget_line": line, "amount_fen": lines[line]}
                                for line in sorted(lines)]}
                     for m, lines in by_month.items()],
        "orders": [{k: v for k, v in s.items() if k not in ("at", "month")} for s in settled],
    }


def _day(at):
    """A local date: the page never shows a time of day, which with a category could
    point to a household."""
    return datetime.fromisoformat(at).astimezone(evaluation.LOCAL).date().isoformat() \
        if at else None


def community_page(community, grids, units, proposals, orders, today):
    """Everything the public page of a community shows, as its JSON feed gives it.

    ``community`` and ``grids`` come from the registry, ``units`` are the community's
    petitions as evaluation counts them, ``proposals`` and ``orders`` its folds.
    """
    months = months_up_to(today)
    since = month_start(months[0])
    shown = sorted((p for p in proposals if p["title"] is not None),
                   key=lambda p: (p["submitted_at"], p["_id"]), reverse=True)
    return {"id": community["id"], "name": community["name"], "type": community.get("type"),
            "as_of": _day(today.isoformat()), "months": {"first": months[0], "last": months[-1]},
            "grids": [{"id": g["id"], "name": g["name"]} for g in grids],
            "rates": rates(units, months),
            "proposals": [proposal_view(p) for p in shown],
            "notices": notices(shown, orders, since),
            "received": received(orders, months)}
