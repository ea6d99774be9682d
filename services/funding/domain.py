"""Funds follow the task (费随事转): holds, captures and releases on a double-entry ledger.

Money is in integer fen (分). Every transaction is a list of postings that sum to
zero; an account's balance is the sum of its postings, never stored or edited; a
correction is a reversing transaction. Accounts:

- ``treasury``: where allocations come from (the county's finance bureau);
- ``dept:<department>:<line>:<year>``: what a budget line has available; never
  below zero (every transaction posting to it is the next link of its chain, see
  ``shared/ledger.py``);
- ``held:<department>:<line>:<year>``: what the line has committed to open orders;
- ``centre-<community>``: a community service centre.

The money of one *order* (a petition's dispatch round, ``<petition>/<round>``):

1. dispatch with a funding department and an estimate: **hold** the estimate
   (line -> held; phase "committed");
2. verified completion: **capture** the actual cost in one transfer (held -> the
   centre, the rest of the hold back to the line; a cost above the hold takes the
   difference from the line, and only with a recorded approval; phase "executed");
3. the order returned, reopened or rejected before completion: **release** the hold.

A line that cannot cover a hold or a capture is never overdrawn: the order is
**blocked**, the department is told and the petition escalated; a top-up of the
line retries it. Each transaction's id is its idempotency key (``hold:<order>``,
``capture:<order>``, ...), and events carry the source event, so a replayed or
duplicated event never moves money twice.
"""

from datetime import UTC, date, datetime, timedelta

from shared.catalogue import CATALOGUE
from shared.errors import Conflict, InvalidFields
from shared.events import new_event

CURRENCY = "CNY"
TREASURY = "treasury"
BUDGET_LINES = ("service_centre_operations", "purchased_assistant_services",
                "public_infrastructure", "sanitation", "training", "sports_and_culture",
                "comprehensive_governance")


class InsufficientFunds(Conflict):
    code = "insufficient_funds"

    def __init__(self, line, available, needed):
        super().__init__(f"Budget line {line} has ¥{yuan(available)} available, less than the "
                         f"¥{yuan(needed)} needed; top the line up, or approve a smaller amount.",
                         details={"available_fen": available, "needed_fen": needed})
        self.available = available


def yuan(fen):
    return f"{fen // 100:,}.{fen % 100:02d}"


def department_of(account):
    """Whose money an account is: a department's line, or nobody's (treasury, centres)."""
    kind, _, rest = account.partition(":")
    return rest.split(":")[0] if kind == "dept" else None


def line_account(department_id, budget_line, fiscal_year):
    return f"dept:{department_id}:{budget_line}:{fiscal_year}"


def line_of(transaction):
    """The budget line whose chain a transaction is a link of, if any: the line it posts
    to, or whose held account it posts to (a transaction touches one line). So every
    posting to a held account is a link of its line's chain, which tracks the held
    balance (a capture or its reversal may post nothing to the line itself)."""
    accounts = [p["account"] for p in transaction["postings"]]
    return next((a for a in accounts if department_of(a)), None) or next(
        (line_of_held(a) for a in accounts if a.startswith("held:")), None)


def held_of(line):
    """The held account of a budget line (``line_account``)."""
    return "held:" + line.removeprefix("dept:")


def line_of_held(held):
    return "dept:" + held.removeprefix("held:")


def held_account(department_id, budget_line, fiscal_year):
    return f"held:{department_id}:{budget_line}:{fiscal_year}"


def order_id(petition_id, round):
    return f"{petition_id}/{round}"


def _posting(account, amount, funding, phase, **where):
    return {"account": account, "amount_fen": amount, "currency": CURRENCY,
            "department_id": funding["department_id"], "budget_line": funding["budget_line"],
            "fiscal_year": funding["fiscal_year"], "phase": phase, **where}


def _transaction(key, kind, postings, funding, now, **fields):
    if sum(p["amount_fen"] for p in postings) != 0:
        raise ValueError(f"{key} does not balance")
    at = now.astimezone(UTC).isoformat()
    return {"_id": key, "kind": kind, "postings": postings, "currency": CURRENCY,
            "department_id": funding["department_id"], "budget_line": funding["budget_line"],
            "fiscal_year": funding["fiscal_year"], "recorded_at": at, "day": day_of(at),
            "hour": hour_of(at),
            **fields}


def day_of(recorded_at):
    """The UTC day of a transaction: with its department, what its totals are kept by."""
    return recorded_at[:10]


def hour_of(recorded_at):
    """The UTC hour of a transaction ("2026-10-01T09"): a busy day's lines are read by it."""
    return recorded_at[:13]


# The phase of each kind of transaction the foundation release recorded.
FOUNDATION_PHASES = {"allocation": "approved", "settlement": "executed"}


def upgraded(transaction):
    """A transaction of the foundation release in today's shape: each posting says whose
    line, which year and which phase it is (statements and exports read them), and an
    allocation can be asked for again and found the same."""
    department = next(filter(None, (department_of(p["account"])
                                    for p in transaction["postings"])), None)
    common = {"currency": transaction.get("currency", CURRENCY), "department_id": department,
              "budget_line": transaction.get("budget_line"),
              "fiscal_year": transaction.get("fiscal_year"),
              "phase": FOUNDATION_PHASES.get(transaction["kind"], "executed")}
    return {"department_id": department,
            "postings": [{**p, **{k: v for k, v in common.items() if k not in p}}
                         for p in transaction["postings"]]}


def allocate(allocation, now):
    """Money from the treasury to a department's budget line, as approved."""
    funding = {k: allocation[k] for k in ("department_id", "budget_line", "fiscal_year")}
    amount = allocation["amount_fen"]
    line = line_account(**funding)
    return _transaction(
        f"allocation:{allocation['allocation_id']}", "allocation",
        [_posting(TREASURY, -amount, funding, "approved"),
         _posting(line, amount, funding, "approved")], funding, now,
        approved_by=allocation["approved_by"], approval=allocation.get("approval"))


def same_allocation(recorded, requested):
    """A repeated allocation request is fine only if it asks for exactly the same thing."""
    if (recorded["postings"] != requested["postings"]
            or recorded["approved_by"] != requested["approved_by"]):
        raise Conflict(f"Allocation {recorded['_id'].split(':', 1)[1]!r} was already recorded "
                       "with different details; use a new allocation id for a new allocation.")


def hold(order, available, now, cause):
    """Commit the estimate of a dispatched order; InsufficientFunds if the line cannot."""
    funding, amount = order["funding"], order["funding"]["estimate_fen"]
    if amount > available:
        raise InsufficientFunds(line_account(**_line(funding)), available, amount)
    where = _where(order)
    transaction = _transaction(
        f"hold:{order['order_id']}", "hold",
        [_posting(line_account(**_line(funding)), -amount, funding, "committed", **where),
         _posting(held_account(**_line(funding)), amount, funding, "committed", **where)],
        funding, now, **where)
    return transaction, [_funds_event("funds.held.v1", order, amount, cause)]


def capture(order, cost, held, available, approval, now, cause):
    """The one transfer of a completed order: the actual cost to the centre, the rest of
    the hold back to the line. A cost above the hold takes the difference from the line,
    only with a recorded approval; returns None (with an approval request) without one."""
    funding = order["funding"]
    excess = cost - held
    if excess > 0 and approval is None:
        return None, [_funds_event("funds.approval_requested.v1", order, cost, cause,
                                   reason=f"the cost is ¥{yuan(excess)} above the hold")]
    if excess > available:
        raise InsufficientFunds(line_account(**_line(funding)), available, excess)
    where = _where(order)
    postings = [_posting(funding["centre_id"], cost, funding, "executed", **where)]
    if held:
        postings.append(_posting(held_account(**_line(funding)), -held, funding, "executed",
                                 **where))
    if cost != held:
        postings.append(_posting(line_account(**_line(funding)), held - cost, funding,
                                 "executed", **where))
    transaction = _transaction(f"capture:{order['order_id']}", "capture", postings, funding,
                               now, cost_fen=cost, held_fen=held, approval=approval, **where)
    settled = new_event(CATALOGUE, "funds.settled.v1", "funding", order["petition_id"], {
        "settlement_id": transaction["_id"], "petition_id": order["petition_id"],
        "task_id": order["task_id"], **_line(funding), "centre_id": funding["centre_id"],
        "amount_fen": cost, "currency": CURRENCY}, cause.correlationid if cause else
        order["correlation_id"], cause)
    return transaction, [settled]


def release(order, held, now, cause, reason):
    """Give an unspent hold back to the line."""
    funding, where = order["funding"], _where(order)
    transaction = _transaction(
        f"release:{order['order_id']}", "release",
        [_posting(held_account(**_line(funding)), -held, funding, "committed", **where),
         _posting(line_account(**_line(funding)), held, funding, "committed", **where)],
        funding, now, reason=reason, **where)
    return transaction, [_funds_event("funds.released.v1", order, held, cause, reason=reason)]


def blocked(order, stage, error, now, cause):
    """An order the line cannot pay for: kept until a top-up, and announced."""
    amount = error.details["needed_fen"]
    record = {"_id": f"blocked:{stage}:{order['order_id']}", "order": order, "stage": stage,
              "needed_fen": amount, "available_fen": error.available, "state": "blocked",
              "blocked_at": now.isoformat(), **_line(order["funding"])}
    event = new_event(CATALOGUE, "funds.blocked.v1", "funding", order["petition_id"], {
        **_step(order, amount), "stage": stage, "available_fen": error.available,
        "reason": error.message}, cause.correlationid if cause else order["correlation_id"], cause)
    return record, [event]


def reversal(original, reason, approved_by, now):
    """A correction: the original's postings with their signs turned."""
    if original["kind"] == "reversal":
        raise Conflict("A reversal is not reversed; record a new transaction instead.")
    postings = [{**p, "amount_fen": -p["amount_fen"]} for p in original["postings"]]
    funding = {k: original[k] for k in ("department_id", "budget_line", "fiscal_year")}
    return _transaction(f"reversal:{original['_id']}", "reversal", postings, funding, now,
                        reverses=original["_id"], reason=reason, approved_by=approved_by,
                        petition_id=original.get("petition_id"),
                        **{key: original.get(key) for key in PLACE_FILTERS})


def order_from_dispatch(data, correlation_id):
    return {"order_id": order_id(data["petition_id"], data["round"]),
            "petition_id": data["petition_id"], "round": data["round"],
            "task_id": f"T-{data['petition_id']}-{data['round']}",
            "grid_id": data["grid_id"], "community_id": data["community_id"],
            "funding": data["funding"], "correlation_id": correlation_id}


def order_from_hold(hold, correlation_id):
    """The order a hold was made for, as far as releasing it needs."""
    round = int(hold["order_id"].split("/")[1])
    return {"order_id": hold["order_id"], "petition_id": hold["petition_id"], "round": round,
            "task_id": hold["task_id"], "grid_id": hold["grid_id"],
            "community_id": hold["community_id"], "correlation_id": correlation_id,
            "funding": {**_line(hold), "centre_id": None, "estimate_fen": held_amount(hold)}}


def held_amount(hold):
    return sum(p["amount_fen"] for p in hold["postings"] if p["account"].startswith("held:"))


def order_from_completion(data, correlation_id):
    """A completion carries everything the order needs but its place."""
    return {"order_id": order_id(data["petition_id"], data["round"]),
            "petition_id": data["petition_id"], "round": data["round"],
            "task_id": data["task_id"], "grid_id": None, "community_id": None,
            "funding": data["funding"], "correlation_id": correlation_id}


def check_amount(amount):
    if not isinstance(amount, int) or amount <= 0:
        raise InvalidFields("Money moves in whole, positive fen.",
                            fields={"amount_fen": ["Give a positive whole number of fen."]})


def _line(funding):
    return {k: funding[k] for k in ("department_id", "budget_line", "fiscal_year")}


def _where(order):
    return {"petition_id": order["petition_id"], "order_id": order["order_id"],
            "task_id": order["task_id"], "grid_id": order["grid_id"],
            "community_id": order["community_id"]}


def _step(order, amount):
    return {"petition_id": order["petition_id"], "round": order["round"], **_line(order["funding"]),
            "amount_fen": amount, "currency": CURRENCY}


def _funds_event(type, order, amount, cause, reason=None):
    return new_event(CATALOGUE, type, "funding", order["petition_id"],
                     {**_step(order, amount), "reason": reason},
                     cause.correlationid if cause else order["correlation_id"], cause)


# Reports

PHASE = {"allocation": "approved", "hold": "committed", "release": "committed",
         "capture": "executed"}


def flow(transaction):
    """The amount a transaction adds to its phase: what an allocation approves, a hold
    commits (a release uncommits), a capture executes; a reversal undoes its original's."""
    kind = transaction["kind"]
    if kind == "reversal":
        return None
    if kind == "capture":
        return "executed", transaction["cost_fen"]
    sign = -1 if kind == "release" else 1
    credited = max(p["amount_fen"] for p in transaction["postings"])
    return PHASE[kind], sign * credited


def statement(transactions, where, start=None, end=None):
    """The postings that match ``where`` (department, budget line, year, community, grid)
    in a period, and their totals by phase."""
    lines, totals = [], {}
    for transaction in transactions:
        at = transaction["recorded_at"]
        if (start and at < start) or (end and at >= end):
            continue
        for posting in transaction["postings"]:
            if all(posting.get(key) == value for key, value in where.items()):
                lines.append({"transaction_id": transaction["_id"], "kind": transaction["kind"],
                              "recorded_at": at, **posting})
                totals[posting["phase"]] = totals.get(posting["phase"], 0) + posting["amount_fen"]
    return {"where": where, "from": start, "to": end, "lines": lines, "totals_fen": totals}


# A department's statement over a period is summed from totals kept per department and
# day (see FundingStore.refresh_totals): each total is one group of postings alike in
# every field such a statement filters by, so its totals are the sum of the groups the
# filter matches, exactly as if it had read every posting. A place's statement reads the
# place's transactions, which carry it (PLACE_FILTERS) at the top.
LINE_FILTERS = ("department_id", "budget_line", "fiscal_year", "phase", "account")
PLACE_FILTERS = ("community_id", "grid_id")


def totals(postings, keys):
    """The postings summed by the values of ``keys``: one group per distinct combination."""
    sums = {}
    for posting in postings:
        key = tuple(posting.get(k) for k in keys)
        sums[key] = sums.get(key, 0) + posting["amount_fen"]
    return [{**dict(zip(keys, key, strict=True)), "amount_fen": fen}
            for key, fen in sorted(sums.items(), key=lambda item: repr(item[0]))]


def phase_totals(groups, where):
    """What the groups matching ``where`` add up to, by phase."""
    found = {}
    for group in groups:
        if all(group.get(key) == value for key, value in where.items()):
            found[group["phase"]] = found.get(group["phase"], 0) + group["amount_fen"]
    return found


def add_totals(*parts):
    found = {}
    for part in parts:
        for phase, fen in part.items():
            found[phase] = found.get(phase, 0) + fen
    return found


def days_of(start, end):
    """The days a period touches: those it covers whole, and the (at most two) it covers
    in part, whose totals come from their transactions. Open ends cover whole days;
    ``start`` and ``end`` are UTC ISO times, ``end`` excluded."""
    def midnight(day):
        return f"{day}T00:00:00+00:00"

    partial = set()
    if start and start > midnight(start[:10]):
        partial.add(start[:10])
    if end and end > midnight(end[:10]):
        partial.add(end[:10])

    def whole(day):
        return (day not in partial and (not start or midnight(day) >= start)
                and (not end or midnight(next_day(day)) <= end))

    return whole, sorted(partial)


def hours_of(day):
    return [f"{day}T{hour:02d}" for hour in range(24)]


def next_day(day):
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def months_between(start, end):
    """The months a bounded period touches, "2026-10" and so on (``end`` excluded)."""
    month, last, found = start[:7], _month_before(end), []
    while month <= last:
        found.append(month)
        month = next_month(month)
    return found


def _month_before(end):
    """The month of the last instant before ``end``."""
    month = end[:7]
    return month_before(month) if end == month_start(month) else month


def month_before(month):
    year, number = int(month[:4]), int(month[5:])
    return f"{year - (number == 1)}-{(number - 2) % 12 + 1:02d}"


def next_month(month):
    year, number = int(month[:4]), int(month[5:])
    return f"{year + number // 12}-{number % 12 + 1:02d}"


def month_start(month):
    return f"{month}-01T00:00:00+00:00"


def covers_month(start, end, month):
    return start <= month_start(month) and month_start(next_month(month)) <= end


# How far the pods' clocks may disagree. A month's totals are rolled up only this long
# after it ends, and a posting added to a day this close to its month's end, or later
# (a redelivery), tells the roll-up it is out of date.
CLOCK_SKEW = timedelta(minutes=10)


def _month_end(month):
    return datetime.fromisoformat(month_start(next_month(month)))


def may_roll_up(month, at):
    """Whether the month is over for every pod at ``at`` (a UTC datetime)."""
    return at >= _month_end(month) + CLOCK_SKEW


def month_to_roll_up(at):
    """The month that ended last, once it is over for every pod at ``at``; else None."""
    month = month_before(at.astimezone(UTC).isoformat()[:7])
    return month if may_roll_up(month, at) else None


def may_be_rolled_up(month, at):
    """Whether some pod may have rolled up the month already at ``at``."""
    return at >= _month_end(month) - CLOCK_SKEW


def statement_lines(transactions, where, start, end, after, limit):
    """The postings matching ``where`` in the period, in the order they were recorded,
    after the position ``after`` (recorded_at, transaction id, posting number); at most
    ``limit``, each with its position."""
    lines = []
    for transaction in sorted(transactions, key=lambda t: (t["recorded_at"], t["_id"])):
        at = transaction["recorded_at"]
        if (start and at < start) or (end and at >= end):
            continue
        for number, posting in enumerate(transaction["postings"]):
            position = (at, transaction["_id"], number)
            if position <= after or not all(posting.get(k) == v for k, v in where.items()):
                continue
            lines.append((position, {"transaction_id": transaction["_id"],
                                     "kind": transaction["kind"], "recorded_at": at, **posting}))
            if len(lines) == limit:
                return lines
    return lines


def reconcile(transactions):
    """Proof that the ledger holds together: every transaction balances, all postings sum
    to zero, every settled order has exactly one transfer, what reached the centres
    equals the cost of the settled orders, and the last link of each budget line's
    chain carries the sum of the line's postings."""
    unbalanced = [t["_id"] for t in transactions
                  if sum(p["amount_fen"] for p in t["postings"]) != 0]
    reversed_ids = {t["reverses"] for t in transactions if t["kind"] == "reversal"}
    captures = {}
    for t in transactions:
        if t["kind"] == "capture" and t["_id"] not in reversed_ids:
            captures.setdefault(t["order_id"], []).append(t)
    to_centres = sum(p["amount_fen"] for t in transactions for p in t["postings"]
                     if p["account"].startswith("centre-"))
    settled = sum(t["cost_fen"] for ts in captures.values() for t in ts)
    twice = sorted(order for order, ts in captures.items() if len(ts) != 1)
    ends, sums = {}, {}
    for t in transactions:
        for p in t["postings"]:
            sums[p["account"]] = sums.get(p["account"], 0) + p["amount_fen"]
        guard = t.get("guard", {})
        if "balance" in guard and guard["seq"] > ends.get(guard["account"], {"seq": 0})["seq"]:
            ends[guard["account"]] = guard
    broken = sorted(line for line, end in ends.items() if end["balance"] != sums.get(line, 0))
    report = {
        "transactions": len(transactions),
        "unbalanced": unbalanced,
        "trial_balance_fen": sum(p["amount_fen"] for t in transactions for p in t["postings"]),
        "settled_orders": len(captures),
        "settled_cost_fen": settled,
        "paid_to_centres_fen": to_centres,
        "orders_not_settled_exactly_once": twice,
        "lines_whose_last_link_disagrees": broken,
    }
    report["reconciled"] = (not unbalanced and report["trial_balance_fen"] == 0
                            and settled == to_centres and not twice and not broken)
    return report


FDP_COLUMNS = ("date", "fiscal_year", "admin_classification", "functional_classification",
               "phase", "amount", "currency", "community", "grid", "petition", "transaction")


def fdp_rows(transactions):
    """Rows in the Fiscal Data Package shape: each transaction's flow, classified by
    department (administrative) and budget line (functional), amounts in yuan."""
    by_id = {t["_id"]: t for t in transactions}
    for transaction in transactions:
        original = by_id.get(transaction.get("reverses")) if transaction["kind"] == "reversal" \
            else transaction
        if original is None or flow(original) is None:
            continue
        phase, amount = flow(original)
        if transaction is not original:
            amount = -amount
        yield {"date": transaction["recorded_at"][:10], "fiscal_year": transaction["fiscal_year"],
               "admin_classification": transaction["department_id"],
               "functional_classification": transaction["budget_line"], "phase": phase,
               "amount": f"{'-' if amount < 0 else ''}{abs(amount) // 100}.{abs(amount) % 100:02d}",
               "currency": CURRENCY, "community": original.get("community_id") or "",
               "grid": original.get("grid_id") or "", "petition": original.get("petition_id") or "",
               "transaction": transaction["_id"]}
