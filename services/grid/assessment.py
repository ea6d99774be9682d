"""Assessment (考核) of a community for a year: its target-responsibility contract
(目标管理责任状) and its five-goods scorecard (五个好), judged on the facts evaluation folds
from each petition's events (services/grid/evaluation.py).

Both are reported *as at* a moment: the facts of each petition first dispatched in the
year up to then are folded again from the events logged up to then, so a report for
30 June reads what was known on 30 June, whatever happened after.

Overdue working days of a round: working time on the grid's calendar from its ``due_by``
to when the round ended (resolved, handed on to the next round, or the petition closed),
or to the report's moment while it runs, in working days of the calendar's length. A
round due Friday 17:30 and resolved Monday 17:30 is 1 working day overdue, not 3.

Every score is 100 x the mean of its measurable parts (shares from 0 to 1); a part with
nothing to count is left out and named, and a dimension with no measurable part takes
its recorded manual assessment, if any. Every figure says how it was computed.

Plain Python: nothing here knows of nameko or the database.
"""

from datetime import UTC, date, datetime, time

from services.grid import evaluation
from services.grid.evaluation import LOCAL, share

RATE_TARGETS = ("response_rate", "resolution_rate", "satisfaction_rate")
OVERDUE_TARGET = "max_overdue_working_days"
TARGETS = (*RATE_TARGETS, OVERDUE_TARGET)
# What each rate divides, as evaluation.three_rates counts it.
RATE_COUNTS = {"response_rate": ("acknowledged_on_time", "dispatched"),
               "resolution_rate": ("resolved", "dispatched"),
               "satisfaction_rate": ("satisfied", "rated")}
# A rate met by less than this is at risk: a few bad weeks would break the contract.
AT_RISK_MARGIN = 0.02

DIMENSIONS = ("leadership", "cadres", "mechanisms", "results", "feedback")
DEFAULT_WEIGHTS = {dimension: 1.0 for dimension in DIMENSIONS}


def year_window(year):
    """The year on the calendar's wall clock, as UTC instants [start, end)."""
    return tuple(datetime.combine(date(y, 1, 1), time(), LOCAL).astimezone(UTC)
                 for y in (year, year + 1))


def _time(text):
    return datetime.fromisoformat(text)


def dispatched_in(stored_facts, year, at):
    """The stored facts of petitions first dispatched in the year, up to ``at``."""
    start, end = year_window(year)
    return [f for f in stored_facts
            if f["dispatched_at"] and start <= _time(f["dispatched_at"]) < end
            and _time(f["dispatched_at"]) <= at]


def as_at(stored, events, at):
    """A petition's facts as they stood at ``at``: its logged events up to then, folded
    again. Its places are the stored facts' own (fixed at the first dispatch)."""
    return evaluation.fold(stored["_id"], [e for e in events if _time(e["time"]) <= at],
                           lambda grid: stored["places"][1:])


def overdue_rounds(facts, at, calendar):
    """Each round of a petition with the working days it ran past its ``due_by``."""
    rounds, day = facts["rounds"], calendar.day_length()
    found = []
    for n, round_ in enumerate(rounds):
        handed_on = rounds[n + 1]["dispatched_at"] if n + 1 < len(rounds) else None
        # A closure before the last round began was undone by the reopening that began it.
        closed = (facts["closed"] or {}).get("at") if n + 1 == len(rounds) else None
        closed = closed if closed and _time(closed) >= _time(round_["dispatched_at"]) else None
        ended = round_["resolved_at"] or handed_on or closed
        late = calendar.working_time_between(_time(round_["due_by"]),
                                              min(_time(ended), at) if ended else at)
        found.append({"petition_id": facts["_id"], "round": round_["round"],
                      "due_by": round_["due_by"], "ended_at": ended, "running": ended is None,
                      "overdue_working_days": round(late / day, 2)})
    return found


# Target-responsibility contracts (目标管理责任状)

def progress(targets, facts_list, at, calendar):
    """Each target of the contract with the actual figure, its status (met, at_risk,
    not_met, or no_data while nothing was dispatched) and the counts behind it."""
    found = evaluation.figures([evaluation.petition_unit(f) for f in facts_list])
    report = [_rate_target(name, targets[name], found)
              for name in RATE_TARGETS if targets.get(name) is not None]
    if targets.get(OVERDUE_TARGET) is not None:
        rounds = [r for f in facts_list for r in overdue_rounds(f, at, calendar)]
        report.append(_overdue_target(targets[OVERDUE_TARGET], rounds))
    return report


def _rate_target(name, minimum, found):
    part, whole = RATE_COUNTS[name]
    actual = found[name]
    if actual is None:
        status = "no_data"
    elif actual < minimum:
        status = "not_met"
    else:
        status = "at_risk" if actual < minimum + AT_RISK_MARGIN else "met"
    label = name.replace("_", " ")
    how = (f"No petition to count yet ({whole} {found[whole]}); the minimum is {minimum}."
           if actual is None else
           f"{label} = {part} {found[part]} / {whole} {found[whole]} = {actual}; the minimum "
           f"is {minimum}, at risk below {round(minimum + AT_RISK_MARGIN, 4)}.")
    return {"target": name, "limit": minimum, "actual": actual, "status": status,
            "counts": {part: found[part], whole: found[whole]}, "how": how}


def _overdue_target(maximum, rounds):
    worst = max(rounds, key=lambda r: r["overdue_working_days"], default=None)
    actual = worst["overdue_working_days"] if worst else None
    beyond = [r for r in rounds if r["overdue_working_days"] > maximum]
    # A round still running late has not broken the limit yet, but will unless it ends.
    running_late = [r for r in rounds if r["running"] and 0 < r["overdue_working_days"]]
    if not rounds:
        status = "no_data"
    elif beyond:
        status = "not_met"
    else:
        status = "at_risk" if running_late else "met"
    counts = {"rounds": len(rounds),
              "overdue": sum(r["overdue_working_days"] > 0 for r in rounds),
              "beyond_limit": len(beyond), "running_late": len(running_late)}
    how = ("No round dispatched yet." if not rounds else
           f"The most overdue of {len(rounds)} rounds is {worst['petition_id']} round "
           f"{worst['round']}: {actual} working days past its due time; "
           f"beyond the limit of {maximum}: {counts['beyond_limit']}; still running late: "
           f"{counts['running_late']}.")
    return {"target": OVERDUE_TARGET, "limit": maximum, "actual": actual, "status": status,
            "counts": counts, "how": how,
            "worst": {k: worst[k] for k in ("petition_id", "round", "overdue_working_days")}
            if worst else None}


# The five-goods scorecard (五个好)

def measured_dimensions(facts_list, at, calendar, reported, work):
    """The four dimensions the data can measure (leadership it cannot).

    ``reported``: the volunteer ids of party members reported to the community (报到) by
    ``at``; ``work``: the volunteer work completed by ``at`` on these petitions, each
    {petition_id, volunteer_id, hours}."""
    found = evaluation.figures([evaluation.petition_unit(f) for f in facts_list])
    petitions = len(facts_list)
    resolved = [f for f in facts_list if evaluation.petition_unit(f)["resolved"]]
    on_time = [f for f in resolved
               if all(r["overdue_working_days"] == 0 for r in overdue_rounds(f, at, calendar))]
    reopened = sum(f["reopened"] > 0 for f in facts_list)
    overturned = sum(f["overturned"] > 0 for f in facts_list)
    returned = [(f, r) for f in facts_list for r in f["rounds"] if r["undone"] == "returned"]
    handled = [(f, r) for f, r in returned
               if any(later["round"] > r["round"] and later["resolved_at"]
                      for later in f["rounds"])]
    workers = {w["volunteer_id"] for w in work}
    active = sorted(set(reported) & workers)
    worked_on = {w["petition_id"] for w in work}
    with_volunteers = [f for f in resolved if f["_id"] in worked_on]
    return {
        "results": _score("results", [
            ("resolution rate", found["resolution_rate"],
             f"{found['resolved']} of {found['dispatched']} petitions resolved"),
            ("finished on time", share(len(on_time), petitions),
             f"{len(on_time)} of {petitions} petitions resolved with no round overdue")],
            {"petitions": petitions, "resolved": found["resolved"], "on_time": len(on_time)}),
        "feedback": _score("feedback", [
            ("satisfaction rate", found["satisfaction_rate"],
             f"{found['satisfied']} of {found['rated']} rated petitions satisfied"),
            ("never reopened", share(petitions - reopened, petitions),
             f"{reopened} of {petitions} petitions reopened"),
            ("never overturned", share(petitions - overturned, petitions),
             f"{overturned} of {petitions} petitions overturned by a spot check")],
            {"petitions": petitions, "rated": found["rated"], "satisfied": found["satisfied"],
             "reopened": reopened, "overturned": overturned}),
        "mechanisms": _score("mechanisms", [
            ("response rate", found["response_rate"],
             f"{found['acknowledged_on_time']} of {found['dispatched']} petitions "
             "acknowledged within the time limit"),
            ("returns handled", share(len(handled), len(returned)),
             f"{len(handled)} of {len(returned)} returned rounds dispatched again and "
             "resolved")],
            {"petitions": petitions, "acknowledged_on_time": found["acknowledged_on_time"],
             "returned_rounds": len(returned), "returns_handled": len(handled)}),
        "cadres": _score("cadres", [
            ("party members active", share(len(active), len(set(reported))),
             f"{len(active)} of {len(set(reported))} party members reported to the "
             "community completed volunteer work on its petitions"),
            ("resolved with volunteers", share(len(with_volunteers), len(resolved)),
             f"{len(with_volunteers)} of {len(resolved)} resolved petitions had work done "
             "by volunteers")],
            {"party_members_reported": len(set(reported)), "party_members_active": len(active),
             "volunteers": len(workers), "volunteer_hours": round(sum(w["hours"] for w in work), 2),
             "resolved": len(resolved), "resolved_with_volunteers": len(with_volunteers)}),
    }


def _score(name, parts, inputs):
    measured = [(label, value, detail) for label, value, detail in parts if value is not None]
    left_out = [f"{label} ({detail})" for label, value, detail in parts if value is None]
    if not measured:
        return {"score": None, "inputs": inputs,
                "how": f"Nothing to measure {name} by yet: {'; '.join(left_out)}."}
    score = round(100 * sum(value for _, value, _ in measured) / len(measured), 1)
    how = (f"{name} = 100 x mean({', '.join(f'{label} {value}' for label, value, _ in measured)})"
           f" = {score}, where {'; '.join(detail for _, _, detail in measured)}.")
    if left_out:
        how += f" Left out, nothing to count: {'; '.join(left_out)}."
    return {"score": score, "inputs": inputs, "how": how}


def scorecard(measured, manual, weights):
    """The five dimensions and the weighted total.

    A dimension's score comes from the data where the data can measure it, otherwise
    from its recorded manual assessment (``source`` says which). A manual assessment of a
    dimension the data did measure is shown beside the computed score, not in its place:
    the scorecard stays reproducible from the event log, and a disagreement between the
    two stays visible."""
    dimensions = []
    for name in DIMENSIONS:
        computed = measured.get(name) or {"score": None, "inputs": {},
                                          "how": f"The data cannot measure {name}."}
        assessed = manual.get(name)
        if computed["score"] is not None:
            score, source, how = computed["score"], "data", computed["how"]
            if assessed:
                how += (f" Assessed by hand at {assessed['score']} by {assessed['assessor']}, "
                        "shown beside it; the computed score counts.")
        elif assessed:
            score, source = assessed["score"], "manual"
            how = (f"{computed['how']} Assessed by hand: {assessed['assessor']} gave "
                   f"{assessed['score']} on {assessed['recorded_at'][:10]} ({assessed['note']}).")
        else:
            score, source = None, None
            how = (f"{computed['how']} No manual assessment recorded: PUT "
                   f"/scorecards/<community>/<year>/assessments/{name}.")
        dimensions.append({"dimension": name, "score": score, "source": source,
                           "weight": weights[name], "how": how, "inputs": computed["inputs"],
                           "manual": assessed})
    return {"dimensions": dimensions, "total": total(dimensions)}


def total(dimensions):
    """The weighted mean of the scored dimensions; unscored ones are left out, so the
    total is marked incomplete rather than dragged to zero."""
    scored = [d for d in dimensions if d["score"] is not None and d["weight"] > 0]
    missing = [d["dimension"] for d in dimensions if d["score"] is None and d["weight"] > 0]
    weight = sum(d["weight"] for d in scored)
    if not weight:
        return {"score": None, "complete": False, "missing": missing,
                "how": "No weighted dimension has a score yet."}
    score = round(sum(d["weight"] * d["score"] for d in scored) / weight, 1)
    terms = " + ".join(f"{d['weight']:g} x {d['dimension']} {d['score']}" for d in scored)
    how = f"total = ({terms}) / {weight:g} = {score}."
    if missing:
        how += f" Left out, no score yet: {', '.join(missing)}."
    return {"score": score, "complete": not missing, "missing": missing, "how": how}
