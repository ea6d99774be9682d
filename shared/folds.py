"""Documents folded from a subject's logged events (a petition's evaluation facts, an
order's or a proposal's public disclosure).

The events are applied in order of time, then id, so the same events in any order, or
delivered twice, give the same document, and folding the log again from scratch (a
rebuild) gives it again. An event that comes after every event folded so far is applied
to the stored document alone; a late one folds the subject's whole log again.

A fold is two plain functions of its domain: ``start(subject_id)``, the document before
any event, whose keys are the document's own fields, and ``apply(document, event)``, the
document with one more event (it is given only the document's own fields, never the
store's bookkeeping). Events are dicts with type, time (UTC ISO text), id and data, as
the logs keep them. Plain Python.
"""


def fold(start, apply, subject_id, events):
    """The document folded from all of ``events``."""
    document = {**start(subject_id), "events": 0, "last": None}
    for event in sorted(events, key=_order):
        document = _applied(apply, document, event)
    return document


def fold_in(start, apply, subject_id, stored, event, log):
    """``stored`` (None before the first event) with ``event`` folded in: applied alone
    when it follows every event folded so far, else the whole ``log()`` (which holds it)
    folded again. With no event, the log folded again."""
    if event and stored and follows(stored, event):
        return _applied(apply, own(start, stored), event)
    return fold(start, apply, subject_id, log())


def own(start, document):
    """The fold's own fields of a stored ``document``, without what the store keeps
    beside them (its version, the keys of the events it holds)."""
    return {key: document[key] for key in (*start(document["_id"]), "events", "last")}


def follows(document, event):
    """Whether ``event`` comes after every event folded into ``document``; a document
    stored before folds recorded their last event follows nothing."""
    return bool(document.get("last")) and _order(event) > tuple(document["last"])


def _applied(apply, document, event):
    return {**apply(document, event), "events": document["events"] + 1,
            "last": list(_order(event))}


def _order(event):
    return event["time"], event["id"]
