"""The morality bank (道德银行): volunteer service hours, and service points (积分) for
party members, kept as a double-entry ledger.

Volunteers deposit the hours of verified work in a savings branch (储蓄所: a
union, a flower association, a school ...), give hours to a neighbour, and
spend them on services or rewards from the catalogue. Like a time bank, every
transaction is a list of postings that sum to zero, so all balances together
sum to zero; a balance is the sum of an account's postings and is never stored
or edited. A mistake is corrected by a reversal, never by changing history.

Amounts are whole numbers in the transaction's ``unit``: hours are kept in
whole **minutes** (``minutes(1.5) == 90``), points in whole points. Accounts::

    member:<volunteer id>   a member's account, in hours and in points; it may never
                            go below zero (and each of its postings carries the
                            member's branch, grid and community, for statements and
                            leaderboards)
    issued:<branch id>      where a branch's deposits come from; it goes negative by
                            what the branch has issued
    redeemed:<item id>      where the hours spent on a catalogue item go
    points:issued           where service points come from

Each operation here is a pure function returning the transaction document;
its ``_id`` is its idempotency key (``deposit:<task>:<volunteer>``,
``donation:<request>``, ...), so a replayed request or event never moves
anything twice. Example, a deposit of 90 minutes::

    {"_id": "deposit:T-P-1-1:v-li", "kind": "deposit", "unit": "hours",
     "at": "2026-11-23T09:00:00.000000+00:00", "memo": "Service on task T-P-1-1",
     "source": {"task_id": "T-P-1-1", "event_id": "volunteer:e1"},
     "postings": [{"account": "issued:b-union", "amount": -90},
                  {"account": "member:v-li", "amount": 90, "volunteer_id": "v-li",
                   "name": "Li Hua", "branch": "b-union", "grid_id": "g-1",
                   "community_id": "c-hexi"}],
     "guard": {"account": "deposit:T-P-1-1:v-li", "seq": 0}}

``guard`` serialises the debits of one member account (see
``bank_store.HoursLedger.post_debit``): a transaction that takes from a member
is guarded by that member's account and a sequence number the store fills in;
one that takes from no member is guarded by its own id.
"""

import math
from datetime import UTC, datetime
from fractions import Fraction

from shared.errors import Conflict, InvalidFields

HOURS = "hours"
POINTS = "points"
UNITS = (HOURS, POINTS)
KINDS = ("deposit", "donation", "redemption", "points", "reversal")
# What a member *earned* (for leaderboards): work deposited and points awarded;
# hours received as a gift or bought back are not earnings.
EARNING_KINDS = ("deposit", "points")

POINTS_ISSUED = "points:issued"
MEMBER_PREFIX = "member:"

# Points per hour of verified work, by task category (petition categories), with a
# bonus for urgent work. A deployment replaces them through the points rules.
DEFAULT_POINTS_RULES = {
    "per_hour": 10,
    "by_category": {
        "fire_hazard": 20,
        "safety_hazard": 20,
        "elderly_care": 15,
        "left_behind_children": 15,
        "neighbour_dispute": 12,
    },
    "urgent_bonus": 20,
}


# Units and accounts

def minutes(hours):
    """Hours as whole minutes, rounded half up: ``minutes(1.5) == 90``, ``minutes(0.01) == 1``.

    Whether the result is an amount the bank accepts (positive) is for the
    operation to say, so the error names the field the user gave."""
    return math.floor(hours * 60 + 0.5)


def hours(minutes):
    """Minutes as (fractional) hours, for people: ``hours(90) == 1.5``."""
    return minutes / 60


def member_account(volunteer_id):
    return f"{MEMBER_PREFIX}{volunteer_id}"


def issued_account(branch_id):
    return f"issued:{branch_id}"


def redeemed_account(item_id):
    return f"redeemed:{item_id}"


def is_member_account(account):
    return account.startswith(MEMBER_PREFIX)


def deposit_key(task_id, volunteer_id):
    return f"deposit:{task_id}:{volunteer_id}"


def donation_key(request_id):
    return f"donation:{request_id}"


def redemption_key(request_id):
    return f"redemption:{request_id}"


def points_key(task_id, volunteer_id):
    return f"points:{task_id}:{volunteer_id}"


# Operations

def deposit(task_id, member, minutes, at, source_event_id):
    """Verified work deposits hours in the member's account, issued by the member's branch."""
    _require_amount(minutes, HOURS)
    _require_branch(member)
    key = deposit_key(task_id, member["_id"])
    return _transaction(key, "deposit", HOURS, at, f"Service on task {task_id}",
                        {"task_id": task_id, "event_id": source_event_id},
                        [{"account": issued_account(member["branch_id"]), "amount": -minutes},
                         _member_posting(member, minutes)])


def donate(request_id, giver, receiver, minutes, giver_balance, at, memo=""):
    """A member gives hours to another member, of any branch; ``memo`` is the giver's note."""
    _require_amount(minutes, HOURS)
    if giver["_id"] == receiver["_id"]:
        raise InvalidFields("Hours cannot be given to oneself.", fields={
            "to_volunteer_id": ["Give the hours to another volunteer, not to the giver."]})
    refuse_overdraft(giver, giver_balance, minutes, HOURS)
    summary = (f"{giver.get('name') or giver['_id']} gave {_amount_text(minutes, HOURS)} "
               f"to {receiver.get('name') or receiver['_id']}")
    return _transaction(donation_key(request_id), "donation", HOURS, at,
                        f"{summary}: {memo.strip()}" if memo and memo.strip() else summary,
                        {"request_id": request_id, "from_volunteer_id": giver["_id"],
                         "to_volunteer_id": receiver["_id"]},
                        [_member_posting(giver, -minutes), _member_posting(receiver, minutes)])


def redeem(request_id, member, item, quantity, balance, at):
    """A member spends hours on a service or reward from the catalogue.

    ``item`` is ``{"_id", "name", "price_minutes", "active"}``; the price is per unit.
    """
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise InvalidFields("Redeem at least one of the item.",
                            fields={"quantity": ["Give a whole number, 1 or more."]})
    if not item.get("active"):
        raise InvalidFields(f"{item['name']} is no longer offered.", fields={
            "item_id": ["Choose an item the catalogue offers now."]})
    price = item["price_minutes"] * quantity
    if not isinstance(price, int) or price <= 0:
        raise InvalidFields(f"{item['name']} has no price in whole minutes.", fields={
            "item_id": ["Ask the branch to price the item; it cannot be redeemed for nothing."]})
    refuse_overdraft(member, balance, price, HOURS)
    return _transaction(redemption_key(request_id), "redemption", HOURS, at,
                        f"{quantity} x {item['name']}",
                        {"request_id": request_id, "item_id": item["_id"], "item_name": item["name"],
                         "quantity": quantity, "price_minutes": item["price_minutes"]},
                        [_member_posting(member, -price),
                         {"account": redeemed_account(item["_id"]), "amount": price}])


def points_for(task, minutes, rules):
    """Points for ``minutes`` of work on ``task``: floor(hours x rate), plus the urgent bonus.

    The rate is the task category's, else the rule's ``per_hour``. Exact
    arithmetic (a rate of 0.1 for 10 hours is 1 point, not 0.9999).
    """
    rate = rules["by_category"].get(task.get("category"), rules["per_hour"])
    points = math.floor(Fraction(minutes) * Fraction(str(rate)) / 60)
    if task.get("urgent"):
        points += rules["urgent_bonus"]
    return points


def award_points(task, member, minutes, rules, at, source_event_id):
    """Service points (服务积分) for a party member's verified work; None for anyone else,
    or when the work earns no points.

    ``task`` is the task document (``_id``, ``category``, ``urgent``); ``rules`` are
    the points rules (``per_hour``, ``by_category``, ``urgent_bonus``, optionally
    the ``revision`` they came from, recorded for audit).
    """
    if not member.get("party_member"):
        return None
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 0:
        raise InvalidFields("Work is counted in whole minutes.",
                            fields={"hours": ["Give the hours worked, zero or more."]})
    points = points_for(task, minutes, rules)
    if points <= 0:
        return None
    task_id = task["_id"]
    return _transaction(points_key(task_id, member["_id"]), "points", POINTS, at,
                        f"Service points for task {task_id}",
                        {"task_id": task_id, "event_id": source_event_id,
                         "category": task.get("category"), "urgent": bool(task.get("urgent")),
                         "minutes": minutes, "rules_revision": rules.get("revision")},
                        [{"account": POINTS_ISSUED, "amount": -points},
                         _member_posting(member, points)])


def reversal(original, key, at, reason):
    """The transaction that undoes ``original``: the same postings with opposite signs.

    Give ``reversal:<original id>`` as the key unless there is reason to reverse
    twice: the key is what makes a repeated correction harmless. A reversal
    that takes hours back from a member is refused (by the store) if the member
    has already spent them.
    """
    if not reason or not reason.strip():
        raise InvalidFields("Say why the transaction is reversed.",
                            fields={"reason": ["Give the reason; it is kept with the reversal."]})
    # A reversal of a reversal restores the original: it is earned again if that was.
    reversed_kind = original["source"].get("reversed_kind") if original["kind"] == "reversal" \
        else original["kind"]
    postings = [dict(posting, amount=-posting["amount"]) for posting in original["postings"]]
    return _transaction(key, "reversal", original["unit"], at, reason.strip(),
                        {"reverses": original["_id"], "reversed_kind": reversed_kind},
                        postings)


def refuse_overdraft(member, balance, amount, unit):
    """A member account may not go below zero: say what is there and what to do."""
    if amount <= balance:
        return
    who = (member.get("name") or member["_id"]) if isinstance(member, dict) else member
    if unit == HOURS:
        advice = ("Ask for at most that much, or earn more hours by volunteering."
                  if balance > 0 else "Earn hours by volunteering first.")
    else:
        advice = "Ask for at most that many." if balance > 0 else "Earn points first."
    raise Conflict(f"{who} has {_amount_text(balance, unit)} in the bank, less than the "
                   f"{_amount_text(amount, unit)} this needs. {advice}",
                   details={"unit": unit, "balance": balance, "requested": amount})


# Reading the ledger

def sums_to_zero(transaction):
    """Double entry: what leaves one account reaches another, in whole units."""
    amounts = [posting["amount"] for posting in transaction["postings"]]
    return all(isinstance(a, int) and not isinstance(a, bool) for a in amounts) and sum(amounts) == 0


def debited_member(transaction):
    """The member account the transaction takes from, if any (there is at most one)."""
    for posting in transaction["postings"]:
        if posting["amount"] < 0 and is_member_account(posting["account"]):
            return posting["account"]
    return None


def net_change(transaction, account):
    return sum(p["amount"] for p in transaction["postings"] if p["account"] == account)


def statement(postings_for_account):
    """An account's postings, oldest first, with the running balance after each.

    ``postings_for_account`` are ``{"at", "key", "kind", "amount", "memo"}`` lines
    (``HoursLedger.postings``); returns them with ``balance`` added.
    """
    balance = 0
    lines = []
    for line in sorted(postings_for_account, key=lambda p: (p["at"], p["key"])):
        balance += line["amount"]
        lines.append({"at": line["at"], "key": line["key"], "kind": line["kind"],
                      "amount": line["amount"], "memo": line.get("memo", ""), "balance": balance})
    return lines


# Helpers

def _transaction(key, kind, unit, at, memo, source, postings):
    transaction = {"_id": key, "kind": kind, "unit": unit, "at": iso(at), "memo": memo,
                   "source": source, "postings": postings}
    if not sums_to_zero(transaction):
        raise ValueError(f"{key} does not balance: {postings}")
    debited = debited_member(transaction)
    # The store numbers the debits of a member account (seq); others guard themselves.
    transaction["guard"] = ({"account": debited, "seq": None} if debited
                            else {"account": key, "seq": 0})
    return transaction


def _member_posting(member, amount):
    return {"account": member_account(member["_id"]), "amount": amount,
            "volunteer_id": member["_id"], "name": member.get("name"),
            "branch": member.get("branch_id"), "grid_id": member.get("home_grid_id"),
            "community_id": member.get("community_id")}


def _require_amount(amount, unit):
    if isinstance(amount, int) and not isinstance(amount, bool) and amount > 0:
        return
    if unit == HOURS:
        raise InvalidFields("Hours are counted in whole minutes; give at least one minute.",
                            fields={"hours": ["Give more than zero hours (1 minute is 0.017)."]})
    raise InvalidFields("Points are whole numbers above zero.",
                        fields={"points": ["Give a whole number of points, 1 or more."]})


def _require_branch(member):
    if not member.get("branch_id"):
        raise InvalidFields(f"{member.get('name') or member['_id']} belongs to no savings branch, "
                            "so no branch can issue the hours.",
                            fields={"branch_id": ["Enrol the volunteer in a branch, then deposit."]})


def _amount_text(amount, unit):
    if unit == HOURS:
        return f"{round(hours(amount), 2):g} hours"
    return f"{amount} points"


def iso(at):
    """A time (datetime or ISO string) as UTC ISO 8601 with microseconds, so that the
    strings sort as the times do."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        raise ValueError("Give timezone-aware times; the ledger keeps them in UTC.")
    return at.astimezone(UTC).isoformat(timespec="microseconds")
