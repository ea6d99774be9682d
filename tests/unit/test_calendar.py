"""The working-time calendar: the clock of a time limit runs in working periods of
working days (weekends and holidays off, make-up days worked), on the calendar's
own wall clock, and answers in UTC."""

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.grid.calendar import DEMO_CALENDAR, WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
PLAIN = WorkCalendar()  # weekends off, 09:00-12:00 and 13:30-17:30, no holidays


def cst(year, month, day, hour=0, minute=0):
    """A wall-clock time in Beijing (UTC+8, no daylight saving)."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


# November 2026: Friday 20th, Saturday 21st, Sunday 22nd, Monday 23rd, Tuesday 24th.

def test_a_working_day_is_seven_working_hours_by_default():
    assert PLAIN.day_length() == timedelta(hours=7)


def test_a_working_day_limit_skips_the_weekend():
    assert PLAIN.add(cst(2026, 11, 20, 16), 1, "working_days") == cst(2026, 11, 23, 16)


def test_a_working_day_limit_raised_at_the_weekend_ends_when_mondays_work_does():
    # The clock starts at Monday 09:00 and runs a whole working day.
    assert PLAIN.add(cst(2026, 11, 21, 10), 1, "working_days") == cst(2026, 11, 23, 17, 30)


def test_half_a_working_day_is_half_the_working_time():
    # 3.5 hours from Monday 09:00: the morning, then half an hour after lunch.
    assert PLAIN.add(cst(2026, 11, 23, 9), 0.5, "working_days") == cst(2026, 11, 23, 14)


def test_working_hours_skip_the_lunch_break():
    assert PLAIN.add(cst(2026, 11, 23, 11), 2, "working_hours") == cst(2026, 11, 23, 14, 30)


def test_time_raised_after_hours_starts_counting_next_morning():
    assert PLAIN.add(cst(2026, 11, 23, 19), 2, "working_hours") == cst(2026, 11, 24, 11)


def test_time_raised_before_opening_starts_counting_at_opening():
    assert PLAIN.add(cst(2026, 11, 24, 7), 2, "working_hours") == cst(2026, 11, 24, 11)


def test_time_raised_over_lunch_starts_counting_after_lunch():
    assert PLAIN.add(cst(2026, 11, 24, 12, 15), 1, "working_hours") == cst(2026, 11, 24, 14, 30)


def test_a_deadline_at_the_end_of_the_day_stays_there():
    # Not moved on to 09:00 next morning: the work is due by the close of the day.
    assert PLAIN.add(cst(2026, 11, 23, 9), 7, "working_hours") == cst(2026, 11, 23, 17, 30)
    # Nor the end of the morning to the start of the afternoon.
    assert PLAIN.add(cst(2026, 11, 23, 9), 3, "working_hours") == cst(2026, 11, 23, 12)


def test_working_hours_carry_over_the_weekend():
    # Friday 16:00: 1.5 hours on Friday, the other 0.5 on Monday morning.
    assert PLAIN.add(cst(2026, 11, 20, 16), 2, "working_hours") == cst(2026, 11, 23, 9, 30)


def test_plain_hours_ignore_the_calendar():
    # Saturday night, during a holiday: elapsed time is elapsed time.
    start = cst(2026, 2, 14, 22)
    assert DEMO_CALENDAR.add(start, 24, "hours") == cst(2026, 2, 15, 22)
    assert PLAIN.add(cst(2026, 11, 21, 10), 1.5, "hours") == cst(2026, 11, 21, 11, 30)


def test_a_zero_limit_is_due_at_once():
    assert PLAIN.add(cst(2026, 11, 21, 10), 0, "working_hours") == cst(2026, 11, 21, 10)


# Holidays and make-up days, with the demo 2026 calendar (the State Council's notice).

def test_a_holiday_is_off_even_on_a_weekday_and_a_make_up_day_is_worked_even_at_a_weekend():
    assert not DEMO_CALENDAR.is_working_day(date(2026, 2, 23))  # Monday, Spring Festival
    assert DEMO_CALENDAR.is_working_day(date(2026, 2, 14))  # Saturday, make-up day
    assert not DEMO_CALENDAR.is_working_day(date(2026, 2, 21))  # Saturday
    assert DEMO_CALENDAR.is_working_day(date(2026, 2, 24))  # Tuesday


def test_a_limit_that_spans_a_holiday_resumes_after_it():
    # Qingming: Saturday 4 to Monday 6 April are off, so Friday's day runs into Tuesday.
    assert DEMO_CALENDAR.add(cst(2026, 4, 3, 10), 1, "working_days") == cst(2026, 4, 7, 10)


def test_a_make_up_saturday_counts_as_a_working_day():
    # Saturday 14 February 2026 is worked in exchange for the Spring Festival.
    assert DEMO_CALENDAR.add(cst(2026, 2, 13, 16), 1, "working_days") == cst(2026, 2, 14, 16)
    assert PLAIN.add(cst(2026, 2, 13, 16), 1, "working_days") == cst(2026, 2, 16, 16)


def test_a_three_day_limit_before_the_spring_festival_runs_past_the_nine_days_off():
    # Friday 13th 16:00: day one ends on the make-up Saturday, 15-23 February are off,
    # days two and three are Tuesday 24th and Wednesday 25th.
    assert DEMO_CALENDAR.add(cst(2026, 2, 13, 16), 3, "working_days") == cst(2026, 2, 25, 16)


def test_a_month_long_limit_across_the_spring_festival_counts_only_working_days():
    # From Monday 2 February 09:00, thirty whole working days: ten before the holiday,
    # the make-up 14th, four after it, the make-up 28th, then fourteen in March:
    # the last is Thursday 19 March.
    due = DEMO_CALENDAR.add(cst(2026, 2, 2, 9), 30, "working_days")
    assert due == cst(2026, 3, 19, 17, 30)
    assert DEMO_CALENDAR.working_time_between(cst(2026, 2, 2, 9), due) == 30 * timedelta(hours=7)


def test_a_year_long_limit_is_reckoned_without_delay():
    # A day-by-day walk: a year of working days is a few hundred steps, not minutes.
    start = cst(2026, 1, 5, 9)
    due = DEMO_CALENDAR.add(start, 240, "working_days")
    assert DEMO_CALENDAR.working_time_between(start, due) == 240 * DEMO_CALENDAR.day_length()


# Pausing: the working time between two instants.

def test_working_time_between_counts_only_working_periods():
    # Monday 11:00 to Tuesday 10:00: 1 h before lunch, 4 h after, 1 h on Tuesday.
    assert PLAIN.working_time_between(cst(2026, 11, 23, 11), cst(2026, 11, 24, 10)) == timedelta(hours=6)


def test_working_time_between_skips_weekends_and_holidays():
    assert PLAIN.working_time_between(cst(2026, 11, 20, 17), cst(2026, 11, 23, 9, 30)) == timedelta(hours=1)
    # The whole Spring Festival, Saturday 14th (worked) excluded, counts for nothing.
    assert DEMO_CALENDAR.working_time_between(cst(2026, 2, 14, 18), cst(2026, 2, 24, 9)) == timedelta()


def test_working_time_between_is_zero_when_the_end_is_not_after_the_start():
    assert PLAIN.working_time_between(cst(2026, 11, 23, 11), cst(2026, 11, 23, 10)) == timedelta()
    assert PLAIN.working_time_between(cst(2026, 11, 23, 11), cst(2026, 11, 23, 11)) == timedelta()


def test_a_paused_finish_clock_is_extended_by_the_working_time_it_lost():
    due = PLAIN.add(cst(2026, 11, 23, 9), 1, "working_days")  # Monday 17:30
    # Paused from Monday 16:00 (waiting for the resident) to Tuesday 10:00: 2.5 h lost.
    lost = PLAIN.working_time_between(cst(2026, 11, 23, 16), cst(2026, 11, 24, 10))
    assert lost == timedelta(hours=2.5)
    assert PLAIN.add(due, lost / timedelta(hours=1), "working_hours") == cst(2026, 11, 24, 11, 30)


# Time zones: the calendar's wall clock decides the day; answers are in UTC.

def test_input_in_utc_returns_the_right_utc_instant():
    # 08:00 UTC on Friday is 16:00 in Beijing; Monday 16:00 in Beijing is 08:00 UTC.
    due = PLAIN.add(datetime(2026, 11, 20, 8, tzinfo=UTC), 1, "working_days")
    assert due == datetime(2026, 11, 23, 8, tzinfo=UTC)
    assert due.tzinfo is UTC


def test_the_day_is_the_calendars_day_not_the_callers():
    # Friday 17:00 UTC is already Saturday 01:00 in Beijing: the clock waits for Monday.
    due = PLAIN.add(datetime(2026, 11, 20, 17, tzinfo=UTC), 1, "working_hours")
    assert due == datetime(2026, 11, 23, 2, tzinfo=UTC)  # Monday 10:00 in Beijing


def test_working_hours_follow_the_wall_clock_across_a_change_to_summer_time():
    # Berlin moves its clocks forward on Sunday 29 March 2026; Monday still opens at 09:00.
    berlin = WorkCalendar(timezone="Europe/Berlin")
    start = datetime(2026, 3, 27, 16, tzinfo=ZoneInfo("Europe/Berlin"))
    assert berlin.add(start, 1, "working_days") == datetime(2026, 3, 30, 14, tzinfo=UTC)


def test_a_time_without_a_zone_is_refused():
    with pytest.raises(ValueError, match="time zone"):
        PLAIN.add(datetime(2026, 11, 23, 9), 1, "working_hours")
    with pytest.raises(ValueError, match="time zone"):
        PLAIN.working_time_between(datetime(2026, 11, 23, 9), cst(2026, 11, 23, 10))


@pytest.mark.parametrize("amount", [-1, -0.5, float("nan"), float("inf"), "2", True])
def test_a_limit_must_be_a_finite_amount_of_zero_or_more(amount):
    with pytest.raises(ValueError, match="zero or more"):
        PLAIN.add(cst(2026, 11, 23, 9), amount, "working_hours")


def test_an_unknown_unit_is_refused_naming_the_units():
    with pytest.raises(ValueError, match="hours, working_hours, working_days"):
        PLAIN.add(cst(2026, 11, 23, 9), 1, "business_days")


# Configuration: stored as a JSON document, and checked when made.

def test_a_calendar_survives_a_round_trip_through_its_document():
    document = json.loads(json.dumps(DEMO_CALENDAR.to_document()))
    assert WorkCalendar.from_document(document) == DEMO_CALENDAR


def test_the_document_lists_dates_in_order_as_iso_strings():
    document = DEMO_CALENDAR.to_document()
    assert document["timezone"] == "Asia/Shanghai"
    assert document["weekend"] == [6, 7]
    assert document["working_hours"] == [["09:00", "12:00"], ["13:30", "17:30"]]
    assert document["holidays"][:4] == ["2026-01-01", "2026-01-02", "2026-01-03", "2026-02-15"]
    assert document["make_up_days"] == ["2026-01-04", "2026-02-14", "2026-02-28",
                                        "2026-05-09", "2026-09-20", "2026-10-10"]


def test_a_document_may_give_dates_as_dates_and_leave_out_the_defaults():
    calendar = WorkCalendar.from_document({"_id": "city", "holidays": [date(2026, 2, 16), "2026-02-17"]})
    assert calendar == WorkCalendar(holidays=frozenset({date(2026, 2, 16), date(2026, 2, 17)}))


def test_the_demo_calendar_follows_the_2026_notice():
    off = [d for d in (date(2026, 1, 1) + timedelta(days=n) for n in range(365))
           if not DEMO_CALENDAR.is_working_day(d)
           and d.isoweekday() not in (6, 7)]
    # Weekdays off: New Year 2, Spring Festival 6, Qingming 1, Labour Day 3,
    # Dragon Boat 1, Mid-Autumn 1, National Day 5.
    assert len(off) == 19
    worked_weekends = [d for d in DEMO_CALENDAR.make_up_days if d.isoweekday() in (6, 7)]
    assert len(worked_weekends) == 6


@pytest.mark.parametrize("settings, hint", [
    ({"working_hours": (("09:00", "12:00"), ("11:30", "17:30"))}, "overlaps"),
    ({"working_hours": (("13:30", "17:30"), ("09:00", "12:00"))}, "in order"),
    ({"working_hours": (("12:00", "09:00"),)}, "ends before it starts"),
    ({"working_hours": (("09:00", "09:00"),)}, "ends before it starts"),
    ({"working_hours": (("9:00", "12:00"),)}, "HH:MM"),
    ({"working_hours": (("09:00", "24:00"),)}, "HH:MM"),
    ({"working_hours": (("09:00",),)}, "pair"),
    ({"working_hours": ()}, "at least one working period"),
    ({"holidays": frozenset({date(2026, 2, 14)}), "make_up_days": frozenset({date(2026, 2, 14)})},
     "both as holiday and as make-up"),
    ({"make_up_days": frozenset({date(2026, 2, 13)})}, "not weekend days"),
    ({"holidays": frozenset({"2026-02-16"})}, "not a date"),
    ({"timezone": "Beijing"}, "IANA name"),
    ({"weekend": (0, 6)}, "ISO weekday"),
    ({"weekend": (1, 2, 3, 4, 5, 6, 7)}, "at least one working weekday"),
])
def test_an_invalid_calendar_is_refused_with_what_to_do(settings, hint):
    with pytest.raises(ValueError, match=hint):
        WorkCalendar(**settings)


def test_a_document_with_a_malformed_date_is_refused():
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        WorkCalendar.from_document({"holidays": ["16/02/2026"]})
