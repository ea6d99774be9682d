"""Funding service: funds follow the task (费随事转), on a ledger an auditor can trust.

    POST /allocations                       treasury -> a budget line, approved (idempotent)
    GET  /accounts/<account>                an account's balance, from its postings
    GET  /transactions?petition_id=         the money a petition moved
    POST /transactions/<id>/reversal        a correction, by a reversing transaction
    POST /approvals                         approve a cost above the hold, and capture it
    GET  /departments/<id>/notices          orders blocked for want of money
    GET  /statements?department_id=&budget_line=&fiscal_year=&community_id=&grid_id=&from=&to=
                  &limit=&cursor=               totals for a period, and its lines a page at a time
    GET  /reconciliation                    the ledger's invariants, proved
    GET  /export/budget.csv                 the ledger in the Fiscal Data Package shape
"""

from services.funding import domain, metrics
from services.funding.schemas import (
    Account,
    Allocation,
    AllocationMade,
    Approval,
    Reversal,
    Statement,
    StatementQuery,
    Transaction,
    TransactionQuery,
    Transactions,
)
from services.funding.store import FundingStore
from shared.auth import AUDITOR, FINANCE, MONEY
from shared.consumers import subscribe
from shared.errors import Conflict, InvalidFields, NotFound
from shared.events import now
from shared.exports import csv_response, csv_text
from shared.http import http, json_response
from shared.outbox import OutboxRelay
from shared.schemas import one
from shared.service import PlatformService
from shared.storage import Storage
from shared.timers import every


class FundingService(PlatformService):
    name = "funding"

    store = Storage(FundingStore)
    relay = OutboxRelay("transactions", "waiting_orders")

    @http("POST", "/allocations", allow=(FINANCE,), body=Allocation, returns=AllocationMade,
          status=201,
          also={200: "This allocation_id was recorded before: the recorded allocation."})
    def allocate(self, request, body):
        """Allocate money to a budget line of your department (or top it up); retries
        orders blocked on it."""
        allocation = body
        self._check_department(allocation["department_id"])
        transaction = domain.allocate(allocation, now())
        if not self.store.post(transaction):
            recorded = self.store.transaction(transaction["_id"])
            domain.same_allocation(recorded, transaction)
            return json_response(one(Transaction).dump(recorded))
        retried = self._retry_waiting(allocation)
        return json_response({**one(Transaction).dump(transaction), "unblocked": retried},
                             status=201)

    @http("GET", "/accounts/<account>", allow=(*MONEY, AUDITOR), returns=Account)
    def get_account(self, request, account):
        """An account's balance, from its postings: your department's lines."""
        self._check_department(domain.department_of(account))
        return json_response({"account": account, "currency": domain.CURRENCY,
                              "balance_fen": self.store.balance(account),
                              "postings": self.store.postings_of(account)})

    @http("GET", "/transactions", allow=(*MONEY, AUDITOR), query=TransactionQuery,
          returns=Transactions)
    def list_transactions(self, request, query):
        """The money a petition moved from your department: holds, captures, releases,
        reversals."""
        return json_response({"transactions": one(Transaction, many=True).dump(
            [t for t in self.store.of_petition(query["petition_id"])
             if self.caller.covers_department(t.get("department_id"))])})

    @http("POST", "/transactions/<path:transaction_id>/reversal", allow=(FINANCE,),
          body=Reversal, returns=Transaction, status=201)
    def reverse(self, request, transaction_id, body):
        """Correct a transaction by posting its reversal; a transaction is reversed once."""
        original = self.store.transaction(transaction_id)
        if original is None:
            raise NotFound(f"No transaction {transaction_id!r}; list them with GET /transactions.")
        self._check_department(original.get("department_id"))
        correction = domain.reversal(original, body["reason"], body["approved_by"], now())
        if line := domain.line_of(correction):
            posted = self.store.post_on_line(correction["_id"], line, lambda available: (
                _covered(correction, line, available), []))
        else:
            posted = correction if self.store.post(correction) else None
        if posted is None:
            raise Conflict(f"{transaction_id} was already reversed; see the transaction "
                           f"reversal:{transaction_id}.")
        return json_response(one(Transaction).dump(posted), status=201)

    @http("POST", "/approvals", allow=MONEY, body=Approval, returns=Transaction, status=201)
    def approve(self, request, body):
        """Approve a cost above the hold, and capture it."""
        waiting = self.store.waiting_for(f"approval:{domain.order_id(body['petition_id'], body['round'])}")
        if waiting is None or waiting["state"] != "blocked":
            raise NotFound("No capture awaits approval for that petition and round.")
        self._check_department(waiting["department_id"])
        if body["amount_fen"] != waiting["cost_fen"]:
            raise InvalidFields("Approve the cost as reported.", fields={"amount_fen": [
                f"The reported cost is {waiting['cost_fen']} fen; approve that amount."]})
        approval = {"approved_by": body["approved_by"], "note": body["note"], "at": now().isoformat()}
        posted = self._capture(waiting["order"], waiting["cost_fen"], approval, None)
        self.store.done_waiting(waiting["_id"], "approved")
        return json_response(one(Transaction).dump(posted) if posted else {}, status=201)

    @http("GET", "/departments/<department_id>/notices", allow=(*MONEY, AUDITOR))
    def notices(self, request, department_id):
        """Orders blocked for want of money on the department's lines."""
        self._check_department(department_id)
        return json_response({"department_id": department_id,
                              "blocked": self.store.notices(department_id)})

    @http("GET", "/statements", allow=(*MONEY, AUDITOR), query=StatementQuery,
          returns=Statement)
    def statements(self, request, query):
        """Totals by phase for any filter (department, line, year, phase, account, place)
        and period, summed from totals kept per department and day; the matching postings
        a page at a time (pass next back as cursor). Your department's unless you audit."""
        caller = self.caller
        if not caller.everywhere:
            self._check_department(query.setdefault("department_id", caller.department_id))
        start, end = query.pop("from", None), query.pop("to", None)
        limit, cursor = query.pop("limit"), query.pop("cursor", None)
        return json_response(self.store.statement(query, start and start.isoformat(),
                                                  end and end.isoformat(), limit, cursor))

    @http("GET", "/reconciliation", allow=(AUDITOR,))
    def reconciliation(self, request):
        """The ledger's invariants, proved: every transaction balances, one capture per order,
        each budget line's last link agrees with its postings."""
        return json_response(domain.reconcile(self.store.all_transactions()))

    @http("GET", "/export/budget.csv", allow=(AUDITOR,), media_type="text/csv")
    def export(self, request):
        """The ledger in the Fiscal Data Package shape, for open-budget tools."""
        return csv_response(csv_text(domain.FDP_COLUMNS,
                                     domain.fdp_rows(self.store.all_transactions())),
                            "budget.csv")

    # Following the dispatcher, the tasks and the petitions

    @subscribe("petition.dispatched.v1")
    def hold(self, event):
        order = domain.order_from_dispatch(event.data, event.correlationid)
        if order["funding"] and order["funding"]["estimate_fen"] > 0:
            self._hold(order, event)

    @subscribe("task.completed.v1")
    def settle(self, event):
        data = event.data
        if data["funding"] is None:
            return
        order = domain.order_from_completion(data, event.correlationid)
        # A completion does not say where; the hold made at dispatch does.
        hold = self.store.transaction(f"hold:{order['order_id']}")
        if hold:
            order.update(grid_id=hold["grid_id"], community_id=hold["community_id"])
        if data["cost_fen"] == 0:
            self._release(order["order_id"], event, "the work cost nothing")
            return
        # An order blocked at dispatch is held now, if its line can cover it.
        if order["funding"]["estimate_fen"] > 0 and hold is None and not self._hold(
                order, event, "capture", data["cost_fen"]):
            return
        self._capture(order, data["cost_fen"], None, event, hold)

    @subscribe("petition.returned.v1")
    @subscribe("petition.reopened.v1")
    @subscribe("petition.rejected.v1")
    def release(self, event):
        # A return or reopening ends the rounds before the new one; a rejection ends all.
        before = event.data.get("round")
        for transaction in self.store.of_petition(event.data["petition_id"]):
            round = int(transaction["order_id"].split("/")[1])
            if transaction["kind"] == "hold" and (before is None or round < before):
                self._release(transaction["order_id"], event,
                              f"the petition was {event.type.split('.')[1]}")

    @every("FUNDING_FIGURES_SECONDS", 60)
    def refresh_figures(self):
        """Refresh what each budget line has on hold, for the dashboards."""
        metrics.refresh(self.store.held_balances())

    @every("FUNDING_ROLL_UP_SECONDS", 3600)
    def roll_up_month(self):
        """Roll up the month that ended, so that no first statement of it waits for its
        thirty days of totals."""
        month = domain.month_to_roll_up(now())
        if month:
            self.store.roll_up(month)

    # Helpers

    def _check_department(self, department_id):
        self.caller.check(self.caller.covers_department(department_id),
                          "another department's money")

    def _hold(self, order, cause, stage="hold", cost=None):
        """Hold the order's estimate unless held already (``post_on_line`` finds it); False
        (and the order kept blocked) when the line cannot cover it."""
        funding = order["funding"]
        try:
            posted = self.store.post_on_line(f"hold:{order['order_id']}", domain.line_account(
                funding["department_id"], funding["budget_line"], funding["fiscal_year"]),
                lambda available: domain.hold(order, available, now(), cause))
        except domain.InsufficientFunds as short:
            record, events = domain.blocked(order, stage, short, now(), cause)
            self.store.wait({**record, "cost_fen": cost}, events)
            return False
        metrics.counted(metrics.HELD, posted, funding["estimate_fen"])
        return True

    def _capture(self, order, cost, approval, cause, hold=None):
        """``hold``: the order's hold, if the caller has just read it."""
        key = f"capture:{order['order_id']}"  # posted once: ``post_on_line`` checks it
        hold = hold or self.store.transaction(f"hold:{order['order_id']}")
        released = self.store.transaction(f"release:{order['order_id']}")
        held = domain.held_amount(hold) if hold and not released else 0
        funding = order["funding"]
        line = domain.line_account(funding["department_id"], funding["budget_line"],
                                   funding["fiscal_year"])
        try:
            posted = self.store.post_on_line(key, line, lambda available: _pending_or(
                domain.capture(order, cost, held, available, approval, now(), cause)))
        except _Pending as pending:
            record = {"_id": f"approval:{order['order_id']}", "order": order, "cost_fen": cost,
                      "held_fen": held, "state": "blocked", "stage": "approval",
                      **{k: funding[k] for k in ("department_id", "budget_line", "fiscal_year")}}
            self.store.wait(record, pending.events)
            return None
        except domain.InsufficientFunds as short:
            record, events = domain.blocked(order, "capture", short, now(), cause)
            self.store.wait({**record, "cost_fen": cost}, events)
            return None
        metrics.counted(metrics.SETTLED, posted, cost)
        return posted

    def _release(self, order_id, cause, reason):
        """Give an order's hold back, unless it was spent (captured) or given back already."""
        hold = self.store.transaction(f"hold:{order_id}")
        if hold is None or self.store.transaction(f"capture:{order_id}") is not None:
            return
        order = domain.order_from_hold(hold, cause.correlationid)
        transaction, events = domain.release(order, domain.held_amount(hold), now(), cause,
                                             reason)
        if self.store.post(transaction, events):
            metrics.counted(metrics.RELEASED, transaction, domain.held_amount(hold))

    def _retry_waiting(self, allocation):
        """A top-up: try again every order that was blocked on this line."""
        retried = []
        for record in self.store.waiting_on(allocation["department_id"],
                                            allocation["budget_line"], allocation["fiscal_year"]):
            if record["stage"] == "approval":
                continue
            order = record["order"]
            if record["stage"] == "hold" and self._hold(order, None):
                self.store.done_waiting(record["_id"], "unblocked")
                retried.append(order["order_id"])
            elif record["stage"] == "capture" and self._hold(order, None, "capture",
                                                             record["cost_fen"]):
                if self._capture(order, record["cost_fen"], None, None) is not None:
                    self.store.done_waiting(record["_id"], "unblocked")
                    retried.append(order["order_id"])
        return retried


class _Pending(Exception):
    def __init__(self, events):
        super().__init__("awaiting approval")
        self.events = events


def _pending_or(result):
    """domain.capture's (None, events) means: wait for an approval first."""
    transaction, events = result
    if transaction is None:
        raise _Pending(events)
    return transaction, events


def _covered(transaction, account, available):
    taken = -sum(p["amount_fen"] for p in transaction["postings"] if p["account"] == account)
    if taken > available:
        raise domain.InsufficientFunds(account, available, taken)
    return transaction
