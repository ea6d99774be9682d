"""The funding service's Prometheus metrics: money held, released and paid to the
community service centres, by department and budget line, counted when the ledger
recorded the transaction (a replayed event records nothing, so it counts nothing), and
what each line has on hold now.

Amounts are in fen, as the ledger keeps them; a dashboard divides by 100 for yuan.
Labels are departments and budget lines: a few dozen series.
"""

from prometheus_client import Counter, Gauge

LINE = ["department", "budget_line"]
HELD = Counter("funding_held_fen_total", "Money put on hold for dispatched orders", LINE)
RELEASED = Counter("funding_released_fen_total", "Holds given back to the budget line "
                   "(order returned, reopened or rejected)", LINE)
SETTLED = Counter("funding_settled_fen_total", "Money paid to community service centres for "
                  "completed orders (费随事转)", LINE)
ON_HOLD = Gauge("funding_on_hold_fen", "Money committed to open orders now: the balance of "
                "the line's held account", LINE)


def counted(counter, transaction, amount):
    """Count ``amount`` of a transaction the ledger recorded; None (already recorded) counts
    nothing."""
    if transaction is not None:
        counter.labels(transaction["department_id"], transaction["budget_line"]).inc(amount)


def refresh(balances):
    """Set what is on hold from the held accounts' balances (``held:<department>:<line>:
    <year>`` -> fen), summed over fiscal years."""
    totals = {}
    for account, fen in balances.items():
        _, department, line, _ = account.split(":")
        totals[department, line] = totals.get((department, line), 0) + fen
    # Cleared and set with no I/O between, so a scrape sees the old or the new figures.
    ON_HOLD.clear()
    for (department, line), fen in totals.items():
        ON_HOLD.labels(department, line).set(fen)
