"""Funds follow the task (费随事转): a double-entry ledger in integer fen.

Every transaction is a list of postings that sum to zero; an account's
balance is the sum of its postings and is never stored or edited. Accounts:

- ``treasury``: where allocations come from (the county's finance bureau);
- ``dept:<department>:<budget line>:<fiscal year>``: a department's budget line;
- ``centre-<community>``: a community service centre.

Each transaction's id is its idempotency key (``allocation:<id>``,
``settlement:<task id>``), so a replayed request or event never moves money twice.
"""

from shared.catalogue import CATALOGUE
from shared.errors import Conflict, InvalidFields
from shared.events import new_event

CURRENCY = "CNY"
TREASURY = "treasury"


def budget_line_account(department_id, budget_line, fiscal_year):
    return f"dept:{department_id}:{budget_line}:{fiscal_year}"


def transfer(debit, credit, amount_fen):
    """Two postings of opposite sign: money leaves ``debit`` and reaches ``credit``."""
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        raise InvalidFields("Money moves in whole, positive fen.",
                            fields={"amount_fen": ["Give a positive whole number of fen."]})
    return [{"account": debit, "amount_fen": -amount_fen},
            {"account": credit, "amount_fen": amount_fen}]


def allocate(allocation, now):
    """Money from the treasury to a department's budget line for a fiscal year."""
    account = budget_line_account(allocation["department_id"], allocation["budget_line"],
                                  allocation["fiscal_year"])
    return {
        "_id": f"allocation:{allocation['allocation_id']}",
        "kind": "allocation",
        "postings": transfer(TREASURY, account, allocation["amount_fen"]),
        "currency": CURRENCY,
        "fiscal_year": allocation["fiscal_year"],
        "budget_line": allocation["budget_line"],
        "approved_by": allocation["approved_by"],
        "recorded_at": now.isoformat(),
    }


def same_allocation(recorded, requested):
    """A repeated allocation request is fine only if it asks for exactly the same thing."""
    if (recorded["postings"] != requested["postings"]
            or recorded["approved_by"] != requested["approved_by"]):
        raise Conflict(f"Allocation {recorded['_id'].split(':', 1)[1]!r} was already recorded "
                       "with different details; use a new allocation id for a new allocation.")


def settle(completion, cause):
    """The actual cost of completed work moves from the department to the service centre.

    Returns None when nobody pays for the work.
    """
    funding = completion["funding"]
    if funding is None or completion["cost_fen"] == 0:
        return None
    settlement_id = f"settlement:{completion['task_id']}"
    source = budget_line_account(funding["department_id"], funding["budget_line"],
                                 funding["fiscal_year"])
    event = new_event(CATALOGUE, "funds.settled.v1", "funding", completion["petition_id"], {
        "settlement_id": settlement_id,
        "petition_id": completion["petition_id"],
        "task_id": completion["task_id"],
        "department_id": funding["department_id"],
        "budget_line": funding["budget_line"],
        "fiscal_year": funding["fiscal_year"],
        "centre_id": funding["centre_id"],
        "amount_fen": completion["cost_fen"],
        "currency": CURRENCY,
    }, cause.correlationid, cause)
    transaction = {
        "_id": settlement_id,
        "kind": "settlement",
        "postings": transfer(source, funding["centre_id"], completion["cost_fen"]),
        "currency": CURRENCY,
        "fiscal_year": funding["fiscal_year"],
        "budget_line": funding["budget_line"],
        "petition_id": completion["petition_id"],
        "task_id": completion["task_id"],
        "source_event": cause.key,
        "recorded_at": event["time"],
    }
    return transaction, event
