"""The morality bank (道德银行): hours in whole minutes, points for party members, double entry."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.volunteer import bank
from shared.errors import Conflict, InvalidFields

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LI = {"_id": "v-li", "name": "Li Hua", "branch_id": "b-union", "home_grid_id": "g-1",
      "community_id": "c-hexi", "party_member": True}
WANG = {"_id": "v-wang", "name": "Wang Fang", "branch_id": "b-flowers", "home_grid_id": "g-2",
        "community_id": "c-hexi", "party_member": False}
MASSAGE = {"_id": "i-massage", "name": "Massage for an elder", "price_minutes": 60, "active": True}
TASK = {"_id": "T-P-1-1", "category": "sanitation", "urgent": False}


def every_transaction():
    return [
        bank.deposit("T-P-1-1", LI, 90, NOW, "volunteer:e1"),
        bank.donate("r1", LI, WANG, 30, 90, NOW),
        bank.redeem("r2", LI, MASSAGE, 1, 90, NOW),
        bank.award_points(TASK, LI, 90, bank.DEFAULT_POINTS_RULES, NOW, "volunteer:e1"),
        bank.reversal(bank.deposit("T-P-1-1", LI, 90, NOW, "e1"), "reversal:x", NOW, "wrong task"),
    ]


# Double entry

@pytest.mark.parametrize("transaction", every_transaction(), ids=lambda t: t["kind"])
def test_every_transaction_sums_to_zero_in_whole_units(transaction):
    assert bank.sums_to_zero(transaction)
    assert transaction["unit"] in bank.UNITS and transaction["kind"] in bank.KINDS


def test_a_transaction_with_a_fraction_or_an_imbalance_does_not_sum_to_zero():
    assert not bank.sums_to_zero({"postings": [{"amount": -1}, {"amount": 2}]})
    assert not bank.sums_to_zero({"postings": [{"amount": -1.5}, {"amount": 1.5}]})


# Deposits

def test_verified_work_deposits_hours_issued_by_the_members_branch():
    deposit = bank.deposit("T-P-1-1", LI, 90, NOW, "volunteer:e1")
    assert deposit["_id"] == "deposit:T-P-1-1:v-li" and deposit["kind"] == "deposit"
    assert deposit["unit"] == "hours" and deposit["at"] == "2026-11-23T09:00:00.000000+00:00"
    assert deposit["source"] == {"task_id": "T-P-1-1", "event_id": "volunteer:e1"}
    issued, member = deposit["postings"]
    assert issued == {"account": "issued:b-union", "amount": -90}
    assert member == {"account": "member:v-li", "amount": 90, "volunteer_id": "v-li",
                      "name": "Li Hua", "branch": "b-union", "grid_id": "g-1",
                      "community_id": "c-hexi"}


def test_a_deposit_takes_from_no_member_so_it_guards_itself():
    deposit = bank.deposit("T-P-1-1", LI, 90, NOW, "volunteer:e1")
    assert deposit["guard"] == {"account": "deposit:T-P-1-1:v-li", "seq": 0}


def test_a_member_without_a_branch_cannot_deposit():
    with pytest.raises(InvalidFields) as refused:
        bank.deposit("T-P-1-1", dict(LI, branch_id=None), 90, NOW, "e1")
    assert "branch_id" in refused.value.fields


# Donations

def test_a_donation_moves_hours_between_members_of_any_branches():
    donation = bank.donate("r1", LI, WANG, 30, 90, NOW)
    assert donation["_id"] == "donation:r1" and donation["kind"] == "donation"
    assert [(p["account"], p["amount"], p["branch"]) for p in donation["postings"]] == [
        ("member:v-li", -30, "b-union"), ("member:v-wang", 30, "b-flowers")]
    assert donation["source"] == {"request_id": "r1", "from_volunteer_id": "v-li",
                                  "to_volunteer_id": "v-wang"}


def test_a_donation_carries_the_givers_note():
    assert bank.donate("r1", LI, WANG, 30, 90, NOW)["memo"] == "Li Hua gave 0.5 hours to Wang Fang"
    assert bank.donate("r1", LI, WANG, 30, 90, NOW, memo="for the stairs")["memo"] == \
        "Li Hua gave 0.5 hours to Wang Fang: for the stairs"


def test_a_donation_is_guarded_by_the_givers_account_numbered_by_the_store():
    assert bank.donate("r1", LI, WANG, 30, 90, NOW)["guard"] == {"account": "member:v-li",
                                                                 "seq": None}


def test_nobody_donates_to_themselves():
    with pytest.raises(InvalidFields) as refused:
        bank.donate("r1", LI, LI, 30, 90, NOW)
    assert "to_volunteer_id" in refused.value.fields


def test_a_donation_may_spend_the_whole_balance_but_not_more():
    assert bank.donate("r1", LI, WANG, 90, 90, NOW)["postings"][0]["amount"] == -90
    with pytest.raises(Conflict) as refused:
        bank.donate("r1", LI, WANG, 91, 90, NOW)
    assert "Li Hua has 1.5 hours" in refused.value.message
    assert refused.value.details == {"unit": "hours", "balance": 90, "requested": 91}


# Redemptions

def test_a_redemption_spends_the_price_times_the_quantity_on_the_item():
    redemption = bank.redeem("r2", LI, MASSAGE, 2, 120, NOW)
    assert redemption["_id"] == "redemption:r2" and redemption["kind"] == "redemption"
    assert [(p["account"], p["amount"]) for p in redemption["postings"]] == [
        ("member:v-li", -120), ("redeemed:i-massage", 120)]
    assert redemption["source"]["quantity"] == 2 and redemption["memo"] == "2 x Massage for an elder"


def test_a_redemption_beyond_the_balance_is_refused_with_what_to_do():
    with pytest.raises(Conflict) as refused:
        bank.redeem("r2", LI, MASSAGE, 2, 90, NOW)
    assert "volunteering" in refused.value.message


def test_an_item_no_longer_offered_cannot_be_redeemed():
    with pytest.raises(InvalidFields) as refused:
        bank.redeem("r2", LI, dict(MASSAGE, active=False), 1, 600, NOW)
    assert "item_id" in refused.value.fields


@pytest.mark.parametrize("quantity", [0, -1, 1.5])
def test_a_redemption_is_of_at_least_one_whole_item(quantity):
    with pytest.raises(InvalidFields) as refused:
        bank.redeem("r2", LI, MASSAGE, quantity, 600, NOW)
    assert "quantity" in refused.value.fields


# Amounts

@pytest.mark.parametrize("amount", [0, -30, 1.5])
def test_hours_move_only_in_whole_positive_minutes(amount):
    with pytest.raises(InvalidFields) as refused:
        bank.deposit("T-P-1-1", LI, amount, NOW, "e1")
    assert "hours" in refused.value.fields
    with pytest.raises(InvalidFields):
        bank.donate("r1", LI, WANG, amount, 600, NOW)


def test_hours_are_kept_in_whole_minutes_rounded_half_up():
    assert bank.minutes(1.5) == 90
    assert bank.minutes(1.1) == 66
    assert bank.minutes(0.01) == 1  # 0.6 minutes
    assert bank.minutes(1 / 120) == 1  # exactly half a minute rounds up
    assert bank.minutes(0.001) == 0  # the operation then refuses it
    assert bank.hours(90) == 1.5


# Points

def test_a_party_member_earns_points_per_hour_of_the_category_rate():
    points = bank.award_points(dict(TASK, category="elderly_care"), LI, 90,
                               bank.DEFAULT_POINTS_RULES, NOW, "volunteer:e1")
    assert points["_id"] == "points:T-P-1-1:v-li" and points["unit"] == "points"
    assert [(p["account"], p["amount"]) for p in points["postings"]] == [
        ("points:issued", -22), ("member:v-li", 22)]  # floor(1.5 h x 15)


def test_a_category_without_its_own_rate_earns_the_hourly_rate_plus_the_urgent_bonus():
    assert bank.points_for(TASK, 90, bank.DEFAULT_POINTS_RULES) == 15
    assert bank.points_for(dict(TASK, urgent=True), 90, bank.DEFAULT_POINTS_RULES) == 35


def test_points_are_counted_exactly_before_rounding_down():
    rules = {"per_hour": 0.1, "by_category": {}, "urgent_bonus": 0}
    assert bank.points_for(TASK, 600, rules) == 1


def test_only_party_members_earn_points():
    assert bank.award_points(TASK, WANG, 600, bank.DEFAULT_POINTS_RULES, NOW, "e1") is None


def test_work_that_earns_no_points_posts_nothing():
    assert bank.award_points(TASK, LI, 5, bank.DEFAULT_POINTS_RULES, NOW, "e1") is None


def test_points_record_the_rules_revision_they_were_computed_with():
    rules = dict(bank.DEFAULT_POINTS_RULES, revision=3)
    assert bank.award_points(TASK, LI, 60, rules, NOW, "e1")["source"]["rules_revision"] == 3


# Idempotency keys

def test_each_operation_is_keyed_by_what_it_must_never_repeat():
    deposit, donation, redemption, points, _ = every_transaction()
    assert deposit["_id"] == bank.deposit_key("T-P-1-1", "v-li") == "deposit:T-P-1-1:v-li"
    assert donation["_id"] == bank.donation_key("r1") == "donation:r1"
    assert redemption["_id"] == bank.redemption_key("r2") == "redemption:r2"
    assert points["_id"] == bank.points_key("T-P-1-1", "v-li") == "points:T-P-1-1:v-li"


def test_the_same_operation_built_twice_is_the_same_transaction():
    assert bank.deposit("T-P-1-1", LI, 90, NOW, "e1") == bank.deposit("T-P-1-1", LI, 90, NOW, "e1")


# Reversals

def test_a_reversal_undoes_the_original_posting_by_posting():
    donation = bank.donate("r1", LI, WANG, 30, 90, NOW)
    undo = bank.reversal(donation, "reversal:donation:r1", NOW, "sent to the wrong neighbour")
    assert undo["_id"] == "reversal:donation:r1" and undo["kind"] == "reversal"
    assert undo["memo"] == "sent to the wrong neighbour"
    assert undo["source"] == {"reverses": "donation:r1", "reversed_kind": "donation"}
    assert [(p["account"], p["amount"]) for p in undo["postings"]] == [
        ("member:v-li", 30), ("member:v-wang", -30)]
    assert undo["guard"] == {"account": "member:v-wang", "seq": None}  # takes from Wang


def test_a_reversal_of_a_reversal_is_earned_again_as_the_original_was():
    deposit = bank.deposit("T-P-1-1", LI, 90, NOW, "e1")
    undo = bank.reversal(deposit, "reversal:1", NOW, "wrong volunteer")
    redo = bank.reversal(undo, "reversal:2", NOW, "it was right after all")
    assert redo["postings"] == deposit["postings"]
    assert redo["source"]["reversed_kind"] == "deposit"


def test_a_reversal_says_why():
    with pytest.raises(InvalidFields) as refused:
        bank.reversal(bank.deposit("T-P-1-1", LI, 90, NOW, "e1"), "reversal:1", NOW, " ")
    assert "reason" in refused.value.fields


# Statements

def test_a_statement_shows_the_running_balance_oldest_first():
    lines = [
        {"at": bank.iso(NOW + timedelta(hours=2)), "key": "donation:r1", "kind": "donation",
         "amount": -30, "memo": ""},
        {"at": bank.iso(NOW), "key": "deposit:T-1:v-li", "kind": "deposit", "amount": 90, "memo": ""},
        {"at": bank.iso(NOW + timedelta(hours=3)), "key": "redemption:r2", "kind": "redemption",
         "amount": -60, "memo": ""},
    ]
    assert [(line["key"], line["amount"], line["balance"]) for line in bank.statement(lines)] == [
        ("deposit:T-1:v-li", 90, 90), ("donation:r1", -30, 60), ("redemption:r2", -60, 0)]


def test_times_are_kept_in_utc_so_they_sort_as_they_happened():
    shanghai = datetime(2026, 11, 23, 17, 0, tzinfo=timezone(timedelta(hours=8)))
    assert bank.iso(shanghai) == "2026-11-23T09:00:00.000000+00:00"
    assert bank.iso("2026-11-23T17:00:00+08:00") == "2026-11-23T09:00:00.000000+00:00"
    with pytest.raises(ValueError):
        bank.iso(datetime(2026, 11, 23))
