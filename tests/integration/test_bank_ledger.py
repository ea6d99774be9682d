"""The morality bank's ledger on the real Mongo-wire server: balances are sums of postings,
keys make postings idempotent, and concurrent withdrawals never overdraw an account."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from services.volunteer import bank
from services.volunteer.bank_store import HoursLedger
from shared.errors import Conflict

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def member(volunteer_id, branch_id="b-union", grid_id="g-1", community_id="c-hexi",
           party_member=False):
    return {"_id": volunteer_id, "name": volunteer_id.title(), "branch_id": branch_id,
            "home_grid_id": grid_id, "community_id": community_id, "party_member": party_member}


LI = member("li", party_member=True)
WANG = member("wang", branch_id="b-flowers", grid_id="g-2")
ZHAO = member("zhao", grid_id="g-3", community_id="c-dongguan")


@pytest.fixture
def ledger(db_of):
    ledger = HoursLedger(db_of("volunteer"))
    ledger.ensure_indexes()
    return ledger


def deposit(ledger, who, minutes, task_id="T-1", at=NOW):
    assert ledger.post_once(bank.deposit(task_id, who, minutes, at, f"volunteer:{task_id}"))


def donate(ledger, request_id, giver, receiver, minutes, at=NOW):
    return ledger.post_debit(
        bank.donation_key(request_id), bank.member_account(giver["_id"]), bank.HOURS,
        lambda balance: bank.donate(request_id, giver, receiver, minutes, balance, at))


def test_deposits_add_up_to_the_balance_and_the_statement(ledger):
    deposit(ledger, LI, 90, "T-1")
    deposit(ledger, LI, 45, "T-2", NOW + timedelta(hours=1))

    # The balance is the sum of the postings; the branch has issued as much.
    assert ledger.balance("member:li", "hours") == 135
    assert ledger.balance("issued:b-union", "hours") == -135
    assert ledger.balance("member:li", "points") == 0

    # The statement runs oldest first.
    lines = bank.statement(ledger.postings("member:li", "hours"))
    assert [(line["key"], line["balance"]) for line in lines] == [
        ("deposit:T-1:li", 90), ("deposit:T-2:li", 135)]
    assert ledger.trial_balance() == {"hours": 0}


def test_a_redelivered_deposit_posts_nothing_and_a_repeated_donation_is_refused(ledger):
    work = bank.deposit("T-1", LI, 120, NOW, "volunteer:e1")
    assert ledger.post_once(work) is True

    # The event comes again: nothing more is posted, and nothing fails.
    assert ledger.post_once(work) is False
    assert ledger.balance("member:li", "hours") == 120

    # A donation request sent twice is a mistake worth telling the sender about.
    donate(ledger, "r1", LI, WANG, 30)
    with pytest.raises(Conflict) as refused:
        donate(ledger, "r1", LI, WANG, 30)
    assert "already posted as donation:r1" in refused.value.message
    assert ledger.balance("member:li", "hours") == 90
    assert ledger.balance("member:wang", "hours") == 30


def test_twenty_concurrent_donations_of_one_hour_from_five_hours_let_exactly_five_through(ledger):
    deposit(ledger, LI, 300)
    receivers = [member(f"r{n}") for n in range(20)]

    def give(n):
        try:
            donate(ledger, f"race-{n}", LI, receivers[n], 60, NOW + timedelta(minutes=1))
            return "given"
        except Conflict as refused:
            assert refused.details["balance"] < 60, refused.message  # an overdraft, not busy
            return "refused"

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(give, range(20)))

    assert outcomes.count("given") == 5 and outcomes.count("refused") == 15
    assert ledger.balance("member:li", "hours") == 0
    # Never below zero at any point of the statement; each debit got its own number.
    lines = bank.statement(ledger.postings("member:li", "hours"))
    assert min(line["balance"] for line in lines) == 0
    seqs = [t["guard"]["seq"] for t in ledger.ledger.find({"guard.account": "member:li"})]
    assert sorted(seqs) == [1, 2, 3, 4, 5]
    assert sum(ledger.balance(f"member:r{n}", "hours") for n in range(20)) == 300
    assert ledger.trial_balance() == {"hours": 0}


def test_a_redemption_spends_hours_on_a_catalogue_item_and_a_reversal_gives_them_back(ledger):
    ledger.save_item("i-massage", {"name": "Massage", "price_minutes": 60, "active": True})
    ledger.save_item("i-old", {"name": "Old", "price_minutes": 30, "active": False})
    assert [item["_id"] for item in ledger.items(active_only=True)] == ["i-massage"]
    deposit(ledger, LI, 150)

    item = ledger.item("i-massage")
    spent = ledger.post_debit(
        bank.redemption_key("r9"), "member:li", bank.HOURS,
        lambda balance: bank.redeem("r9", LI, item, 2, balance, NOW))
    assert spent["guard"] == {"account": "member:li", "seq": 1}
    assert ledger.balance("member:li", "hours") == 30
    assert ledger.balance("redeemed:i-massage", "hours") == 120

    # A reversal of a redemption takes from no member, so it guards itself.
    undo = ledger.post(bank.reversal(spent, "reversal:redemption:r9", NOW, "the elder moved away"))
    assert undo["guard"] == {"account": "reversal:redemption:r9", "seq": 0}
    assert ledger.balance("member:li", "hours") == 150
    assert ledger.trial_balance() == {"hours": 0}


def test_a_reversal_cannot_take_back_hours_the_member_has_already_given_away(ledger):
    deposit(ledger, LI, 60)
    donate(ledger, "r1", LI, WANG, 60)
    original = ledger.transaction("deposit:T-1:li")

    with pytest.raises(Conflict) as refused:
        ledger.post(bank.reversal(original, "reversal:deposit:T-1:li", NOW, "wrong task"))
    assert refused.value.details["balance"] == 0
    assert ledger.transaction("reversal:deposit:T-1:li") is None


def test_the_leaderboard_ranks_earnings_by_grid_and_community_not_gifts(ledger):
    deposit(ledger, LI, 120, "T-1")
    deposit(ledger, WANG, 60, "T-2")
    deposit(ledger, ZHAO, 240, "T-3", NOW + timedelta(days=2))
    deposit(ledger, WANG, 30, "T-4", NOW + timedelta(days=2))
    # A gift raises Wang's balance but not what Wang earned.
    donate(ledger, "r1", LI, WANG, 120)
    # A reversed deposit is no longer earned.
    later = NOW + timedelta(days=2, hours=1)
    ledger.post(bank.reversal(ledger.transaction("deposit:T-4:wang"), "reversal:T-4", later, "twice"))

    everyone = ledger.leaderboard("hours")
    assert [(row["rank"], row["volunteer_id"], row["earned"]) for row in everyone] == [
        (1, "zhao", 240), (2, "li", 120), (3, "wang", 60)]
    assert everyone[0]["name"] == "Zhao"

    assert [row["volunteer_id"] for row in ledger.leaderboard("hours", grid_id="g-2")] == ["wang"]
    assert [row["volunteer_id"] for row in ledger.leaderboard("hours", community_id="c-hexi")] == [
        "li", "wang"]
    assert [row["volunteer_id"] for row in ledger.leaderboard(
        "hours", since=NOW + timedelta(days=1))] == ["zhao"]
    assert len(ledger.leaderboard("hours", limit=2)) == 2


def test_points_go_to_party_members_and_have_their_own_board(ledger):
    rules = ledger.points_rules()
    task = {"_id": "T-1", "category": "elderly_care", "urgent": True}
    for who in (LI, WANG):
        points = bank.award_points(task, who, 120, rules, NOW, "volunteer:e1")
        if points:
            assert ledger.post_once(points)
    assert ledger.balance("member:li", "points") == 2 * 15 + 20
    assert ledger.leaderboard("points") == [
        {"rank": 1, "volunteer_id": "li", "name": "Li", "earned": 50}]
    assert ledger.trial_balance() == {"points": 0}


def test_a_branch_statement_lists_its_members_postings_and_balances(ledger):
    ledger.save_branch("b-union", {"name": "Trade union", "kind": "union"})
    ledger.save_branch("b-flowers", {"name": "Flower association", "kind": "association"})
    assert ledger.branch("b-union")["name"] == "Trade union"
    assert [b["_id"] for b in ledger.branches()] == ["b-flowers", "b-union"]
    deposit(ledger, LI, 120, "T-1")
    deposit(ledger, ZHAO, 60, "T-2")
    deposit(ledger, WANG, 30, "T-3")
    donate(ledger, "r1", LI, WANG, 45, NOW + timedelta(hours=1))

    union = ledger.branch_statement("b-union", "hours")
    assert [(line["key"], line["volunteer_id"], line["amount"]) for line in union["lines"]] == [
        ("deposit:T-1:li", "li", 120), ("deposit:T-2:zhao", "zhao", 60), ("donation:r1", "li", -45)]
    assert union["members"] == [{"volunteer_id": "li", "name": "Li", "balance": 75},
                                {"volunteer_id": "zhao", "name": "Zhao", "balance": 60}]
    assert union["total"] == 135 and union["issued"] == 180

    flowers = ledger.branch_statement("b-flowers", "hours")
    assert flowers["members"] == [{"volunteer_id": "wang", "name": "Wang", "balance": 75}]
    assert flowers["issued"] == 30


def test_points_rules_are_replaced_by_revision_and_every_revision_is_kept(ledger):
    assert ledger.points_rules() == {"revision": 0, **bank.DEFAULT_POINTS_RULES}

    first = {"per_hour": 12, "by_category": {"fire_hazard": 25}, "urgent_bonus": 10}
    second = {"per_hour": 8, "by_category": {}, "urgent_bonus": 0}
    assert ledger.replace_points_rules(first) == 1
    assert ledger.replace_points_rules(dict(second, revision=1)) == 2

    assert ledger.points_rules() == {"revision": 2, **second}
    assert ledger.points_rules_revision(1) == {"revision": 1, **first}
    assert ledger.points_rules_revision(3) is None
