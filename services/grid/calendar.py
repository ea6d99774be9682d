"""The working-time calendar behind the dispatcher's time limits.

A rule says "acknowledge within 2 working hours" or "finish within 3 working
days"; in Chinese government practice the clock stops at night, over the lunch
break, at weekends and on public holidays, and runs on make-up working days
(调休: a Saturday or Sunday worked because a holiday was extended). The State
Council publishes the holidays and make-up days each November for the next
year, so they are data a city loads, not rules in code.

Everything is reckoned on the calendar's own wall clock (Asia/Shanghai by
default) and returned in UTC, whatever zone the caller's instant was in::

    {"timezone": "Asia/Shanghai", "weekend": [6, 7],
     "working_hours": [["09:00", "12:00"], ["13:30", "17:30"]],
     "holidays": ["2026-02-16", "2026-02-17"], "make_up_days": ["2026-02-14"]}
"""

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UNITS = ("hours", "working_hours", "working_days")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class WorkCalendar:
    """When the clock of a time limit runs: working periods of working days.

    A make-up day is worked even if it falls at a weekend; a holiday is off even
    if it falls on a weekday. The notice's holiday spans may include weekend
    days (春节 2026: 15-23 February); listing them is harmless.
    """

    timezone: str = "Asia/Shanghai"
    weekend: tuple = (6, 7)  # ISO weekdays: 6 Saturday, 7 Sunday
    working_hours: tuple = (("09:00", "12:00"), ("13:30", "17:30"))
    holidays: frozenset = frozenset()
    make_up_days: frozenset = frozenset()
    # Parsed once: the zone and the periods as datetime.time pairs.
    _zone: ZoneInfo = field(default=None, init=False, repr=False, compare=False)
    _periods: tuple = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self):
        # Normalise what callers naturally pass (lists, sets) so the calendar stays
        # hashable and two equal configurations compare equal.
        try:
            zone = ZoneInfo(self.timezone)
        except (ValueError, ZoneInfoNotFoundError, OSError, TypeError):
            raise ValueError(f"Unknown time zone {self.timezone!r}; give an IANA name such as "
                             "'Asia/Shanghai'.") from None
        object.__setattr__(self, "_zone", zone)

        weekend = tuple(sorted(set(self.weekend)))
        if any(isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 7 for d in weekend):
            raise ValueError(f"Weekend days {list(self.weekend)} must be ISO weekday numbers from "
                             "1 (Monday) to 7 (Sunday), e.g. [6, 7].")
        if len(weekend) == 7:
            raise ValueError("Every day of the week is a weekend day, so no time limit could "
                             "ever run out; leave at least one working weekday.")
        object.__setattr__(self, "weekend", weekend)

        periods, parsed = [], []
        for period in self.working_hours:
            if not isinstance(period, list | tuple) or len(period) != 2:
                raise ValueError(f"Working period {period!r} must be a pair [start, end] of "
                                 "'HH:MM' times, e.g. ['09:00', '12:00'].")
            start, end = (_clock(t) for t in period)
            if start >= end:
                raise ValueError(f"Working period {list(period)} ends before it starts; a period "
                                 "lies within one day, e.g. ['13:30', '17:30'].")
            if parsed and start < parsed[-1][1]:
                raise ValueError(f"Working period {list(period)} overlaps or precedes the one "
                                 "before it; list periods in order of the day without overlaps.")
            periods.append(tuple(period))
            parsed.append((start, end))
        if not parsed:
            raise ValueError("A calendar needs at least one working period, e.g. "
                             "[['09:00', '12:00'], ['13:30', '17:30']].")
        object.__setattr__(self, "working_hours", tuple(periods))
        object.__setattr__(self, "_periods", tuple(parsed))

        holidays, make_up_days = frozenset(self.holidays), frozenset(self.make_up_days)
        for day in holidays | make_up_days:
            if isinstance(day, datetime) or not isinstance(day, date):
                raise ValueError(f"{day!r} is not a date; give holidays and make-up days as "
                                 "dates such as 2026-02-16.")
        if both := sorted(holidays & make_up_days):
            raise ValueError(f"{', '.join(d.isoformat() for d in both)} listed both as holiday "
                             "and as make-up working day; keep each date in one list only.")
        # A make-up day on a weekday changes nothing, so it is almost certainly a
        # mistyped date from the notice: refuse it rather than silently ignore it.
        if weekdays := sorted(d for d in make_up_days if d.isoweekday() not in weekend):
            raise ValueError(f"Make-up days {', '.join(d.isoformat() for d in weekdays)} are not "
                             "weekend days, so they are working days already; check the dates "
                             "against the notice.")
        object.__setattr__(self, "holidays", holidays)
        object.__setattr__(self, "make_up_days", make_up_days)

    def is_working_day(self, day):
        """Whether ``day`` (a date on the calendar's own wall clock) is worked."""
        if day in self.make_up_days:
            return True
        if day in self.holidays:
            return False
        return day.isoweekday() not in self.weekend

    def day_length(self):
        """Working time in one working day: a working day of a time limit is this much."""
        return sum((datetime.combine(date.min, end) - datetime.combine(date.min, start)
                    for start, end in self._periods), timedelta())

    def add(self, start, amount, unit):
        """The deadline ``amount`` ``unit`` after ``start``, as an aware UTC datetime.

        ``hours`` is elapsed time; ``working_hours`` counts only working periods of
        working days; ``working_days`` is ``amount`` times ``day_length()`` of working
        time, so Friday 16:00 + 1 working day is Monday 16:00 and a start outside
        working time counts from the next working moment (Saturday 10:00 + 1 working
        day is Monday 17:30). A deadline that falls at the end of a period stays
        there; a zero amount is ``start`` itself.
        """
        start = _utc(start, "start")
        if (isinstance(amount, bool) or not isinstance(amount, int | float)
                or not math.isfinite(amount) or amount < 0):
            raise ValueError(f"Amount {amount!r} must be a finite number of {unit} "
                             "that is zero or more.")
        if unit == "hours":
            return start + timedelta(hours=amount)
        if unit == "working_hours":
            remaining = timedelta(hours=amount)
        elif unit == "working_days":
            remaining = self.day_length() * amount
        else:
            raise ValueError(f"Unknown unit {unit!r}; use one of {', '.join(UNITS)}.")
        if not remaining:
            return start
        for begin, end in self._periods_from(start):
            if end <= start:
                continue
            begin = max(begin, start)
            if remaining <= end - begin:  # "<=": a deadline at a period's end stays there
                return begin + remaining
            remaining -= end - begin

    def working_time_between(self, a, b):
        """Working time from ``a`` to ``b`` (zero if ``b`` is not after ``a``).

        A finish clock paused from ``a`` to ``b`` is extended by this much working
        time: ``add(due, between / timedelta(hours=1), "working_hours")``.
        """
        a, b = _utc(a, "a"), _utc(b, "b")
        total = timedelta()
        if b <= a:
            return total
        for begin, end in self._periods_from(a):
            if begin >= b:
                return total
            total += max(timedelta(), min(end, b) - max(begin, a))

    def to_document(self):
        """JSON-ready; ``from_document`` reads it back."""
        return {
            "timezone": self.timezone,
            "weekend": list(self.weekend),
            "working_hours": [list(period) for period in self.working_hours],
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "make_up_days": sorted(d.isoformat() for d in self.make_up_days),
        }

    @classmethod
    def from_document(cls, doc):
        """A calendar from ``to_document``'s shape (lists; dates as ISO strings or dates).
        Missing keys take the defaults; other keys (a stored document's ``_id``) are ignored."""
        values = {}
        if "timezone" in doc:
            values["timezone"] = doc["timezone"]
        if "weekend" in doc:
            values["weekend"] = tuple(doc["weekend"])
        if "working_hours" in doc:
            values["working_hours"] = tuple(doc["working_hours"])
        for key in ("holidays", "make_up_days"):
            if key in doc:
                values[key] = frozenset(_date(d, key) for d in doc[key])
        return cls(**values)

    def _periods_from(self, instant):
        """Working periods as (begin, end) UTC pairs, in order, from the local day of
        ``instant`` on (some may end before it). Endless: callers stop when done."""
        day = instant.astimezone(self._zone).date()
        while True:
            if self.is_working_day(day):
                for start, end in self._periods:
                    yield (datetime.combine(day, start, tzinfo=self._zone).astimezone(UTC),
                           datetime.combine(day, end, tzinfo=self._zone).astimezone(UTC))
            day += timedelta(days=1)


def _clock(text):
    match = _CLOCK.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"Time {text!r} must be written 'HH:MM' on the 24-hour clock, e.g. '09:00'.")
    return time(int(match[1]), int(match[2]))


def _date(value, key):
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key}: {value!r} is not a date; write it as YYYY-MM-DD, "
                         "e.g. '2026-02-16'.") from None


def _utc(instant, name):
    if not isinstance(instant, datetime) or instant.utcoffset() is None:
        raise ValueError(f"{name} must be a datetime with its time zone, e.g. "
                         "2026-02-13T16:00:00+08:00; a naive time is ambiguous.")
    return instant.astimezone(UTC)


def _days(first, last):
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


# Illustrative demo data, not an authority: the mainland China holidays and make-up
# days of 2026 as the State Council's notice (国办发明电, 4 November 2025) sets them,
# copied here so a demo runs without setup. A city loads the official notice for
# each year through the API; it should not rely on this table. Holiday spans are
# listed whole, weekend days included, as the notice states them.
DEMO_CALENDAR = WorkCalendar(
    holidays=frozenset(
        _days(date(2026, 1, 1), date(2026, 1, 3))  # 元旦 New Year
        | _days(date(2026, 2, 15), date(2026, 2, 23))  # 春节 Spring Festival (除夕 2-16, 初一 2-17)
        | _days(date(2026, 4, 4), date(2026, 4, 6))  # 清明 Qingming
        | _days(date(2026, 5, 1), date(2026, 5, 5))  # 劳动节 Labour Day
        | _days(date(2026, 6, 19), date(2026, 6, 21))  # 端午 Dragon Boat
        | _days(date(2026, 9, 25), date(2026, 9, 27))  # 中秋 Mid-Autumn
        | _days(date(2026, 10, 1), date(2026, 10, 7))  # 国庆 National Day
    ),
    make_up_days=frozenset({
        date(2026, 1, 4),  # Sunday, for New Year
        date(2026, 2, 14), date(2026, 2, 28),  # Saturdays, for the Spring Festival
        date(2026, 5, 9),  # Saturday, for Labour Day
        date(2026, 9, 20), date(2026, 10, 10),  # Sunday and Saturday, for National Day
    }),
)
