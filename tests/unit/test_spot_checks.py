"""Spot checks (不定期抽查): the weekly draw, who checks, and what a decision does. Pure
domain: no broker, no database."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.grid import evaluation, spot_checks
from services.petition import domain
from shared.errors import Conflict
from tests.unit.test_petition_lifecycle import event, in_state

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POLICY = spot_checks.SpotCheckPolicy()
SUPERVISORS = [{"id": "g01-ls-1", "name": "Zhao Lan"}, {"id": "g01-ls-2", "name": "Qian Hui"}]
GRID = {"_id": "g01", "sub_district_id": "sd-xiaojianghu",
        "butler_team": {"livelihood_supervisor": SUPERVISORS}}


def closures(count, handler="team-a"):
    return {f"P-{n:03d}": {"closed_at": T0.isoformat(), "outcome": "satisfied",
                           "handler": handler} for n in range(count)}


def drawn(count=30, seed="announced at the grid meeting", share=0.1, handler="team-a"):
    return spot_checks.draw("g01", "2026-W48", closures(count, handler), seed, share, T0,
                            "dispatcher-1")


def test_a_draw_is_repeated_exactly_from_its_recorded_seed_and_population():
    recorded = drawn()
    # Anyone holding the record repeats it with the standard library alone.
    assert random.Random(recorded["seed"]).sample(recorded["population"], recorded["size"]) \
        == recorded["drawn"] == spot_checks.repeat(recorded)
    assert recorded["population"] == sorted(closures(30))
    # The same seed over the same closures, listed in any order, draws the same petitions.
    shuffled = dict(reversed(list(closures(30).items())))
    again = spot_checks.draw("g01", "2026-W48", shuffled, recorded["seed"], 0.1, T0, "system")
    assert again["drawn"] == recorded["drawn"]
    # Another seed draws others: the seed, not the population, decides.
    assert drawn(seed="another seed")["drawn"] != recorded["drawn"]


def test_a_fresh_seed_is_unpredictable_and_recorded_with_the_draw():
    seeds = {spot_checks.new_seed() for _ in range(20)}
    assert len(seeds) == 20
    assert drawn(seed=next(iter(seeds)))["seed"] in seeds


@pytest.mark.parametrize(("share", "population", "size"), [
    (0.1, 30, 3),  # not 4: 0.1 x 30 is 3.0000000000000004 in binary floating point
    (0.1, 31, 4),  # a share is rounded up
    (0.1, 1, 1),  # a grid that closed anything has at least one checked
    (0.1, 0, 0),  # nothing closed, nothing drawn
    (0.15, 20, 3),
    (1, 7, 7),  # a share of one checks everything, never more
])
def test_the_share_is_rounded_up_with_at_least_one_and_never_more_than_all(share, population,
                                                                          size):
    assert spot_checks.sample_size(share, population) == size
    assert drawn(population, share=share)["size"] == size


def test_nothing_is_drawn_twice_in_a_week():
    recorded = drawn(30, share=0.5)
    assert len(set(recorded["drawn"])) == len(recorded["drawn"]) == 15
    # A second draw of the grid's week has the same key, so the store keeps the first one.
    assert drawn(seed="a second try")["_id"] == recorded["_id"] == "2026-W48-g01"
    checks = spot_checks.checks_of(recorded, GRID, POLICY, T0)
    assert len({c["_id"] for c in checks}) == len(checks) == 15


def test_the_week_runs_monday_to_sunday_in_shanghai():
    start, end = spot_checks.week_bounds("2026-W48")
    assert (start, end) == ("2026-11-22T16:00:00+00:00", "2026-11-29T16:00:00+00:00")
    last_moment = (datetime.fromisoformat(end) - timedelta(microseconds=1)).isoformat()
    assert evaluation.week_of(start) == evaluation.week_of(last_moment) == "2026-W48"
    with pytest.raises(ValueError):
        spot_checks.week_bounds("2026-W54")


def test_the_livelihood_supervisors_take_the_checks_of_their_grid_in_turn():
    checks = spot_checks.checks_of(drawn(30), GRID, POLICY, T0)
    assert [c["checker"]["id"] for c in checks] == ["g01-ls-1", "g01-ls-2", "g01-ls-1"]
    assert {c["state"] for c in checks} == {"assigned"}


def test_the_inspection_team_checks_when_configured_when_the_grid_has_no_supervisor_or_when_the_work_was_the_supervisors():  # noqa: E501
    inspection = {"kind": "inspection_team", "id": "inspection-sd-xiaojianghu",
                  "name": "Inspection team of sd-xiaojianghu"}
    configured = spot_checks.SpotCheckPolicy(checker="inspection_team")
    no_supervisor = {**GRID, "butler_team": {}}
    own_work = drawn(handler="butler-g01/livelihood_supervisor")
    for recorded, grid, policy in ((drawn(), GRID, configured), (drawn(), no_supervisor, POLICY),
                                   (own_work, GRID, POLICY)):
        assert [c["checker"] for c in spot_checks.checks_of(recorded, grid, policy, T0)] \
            == [inspection] * 3


def test_the_share_and_checker_come_from_configuration_and_nonsense_is_refused():
    policy = spot_checks.SpotCheckPolicy.from_config({"SPOT_CHECK_SHARE": "0.25"})
    assert (policy.share, policy.checker) == (0.25, "livelihood_supervisor")
    for bad in ({"SPOT_CHECK_SHARE": "0"}, {"SPOT_CHECK_SHARE": "1.5"},
                {"SPOT_CHECK_CHECKER": "the mayor"}):
        with pytest.raises(ValueError):
            spot_checks.SpotCheckPolicy.from_config(bad)


def assigned():
    return spot_checks.checks_of(drawn(), GRID, POLICY, T0)[0]


def test_an_overturn_publishes_the_checkers_finding_with_the_decision():
    check = assigned()
    change = spot_checks.overturn("The drain still overflows.", "g01-ls-1", T0, "corr", check)
    assert change.set["state"] == "overturned" and change.set["decided_by"] == "g01-ls-1"
    [overturned] = change.events
    assert overturned["type"] == "spot_check.overturned.v1"
    assert overturned["data"] == {"petition_id": check["petition_id"], "actor": "g01-ls-1",
                                  "reason": "The drain still overflows.",
                                  "spot_check_id": check["_id"], "grid_id": "g01"}


def test_a_confirmation_publishes_nothing_and_a_decision_is_final():
    check = assigned()
    change = spot_checks.confirm("Visited: the drain is clear.", "g01-ls-1", T0, "corr", check)
    assert change.set["state"] == "confirmed" and not change.events
    decided = {**check, **change.set}
    for decide in (spot_checks.confirm, spot_checks.overturn):
        with pytest.raises(Conflict, match="a decision is final"):
            decide("second thoughts", "g01-ls-1", T0, "corr", decided)


def overturned(minutes=60, reason="The drain still overflows."):
    return event("spot_check.overturned.v1", {"actor": "g01-ls-1", "reason": reason,
                                              "spot_check_id": "SC-2026-W48-P-1",
                                              "grid_id": "g01"}, minutes)


def test_an_overturn_reopens_a_closed_petition_as_a_new_round_with_the_checkers_note():
    closed = in_state("closed")
    change = domain.reopen_after_spot_check(overturned(), closed)
    assert change.set["state"] == "reopened" and change.set["round"] == closed["round"] + 1
    assert change.set["outcome"] is None and change.set["closed_at"] is None
    [reopened] = change.events
    assert reopened["type"] == "petition.reopened.v1"
    assert reopened["data"]["reason"] == "The drain still overflows."
    assert reopened["data"]["previous_handler"] == closed["handler"]
    assert "overturned" in change.push["timeline"][0]["summary"]


def test_an_overturn_of_a_petition_already_open_again_only_notes_the_finding():
    change = domain.reopen_after_spot_check(overturned(), in_state("reopened"))
    assert not change.set and not change.events
    assert "not reopened" in change.push["timeline"][0]["summary"]
