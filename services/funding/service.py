"""Funding service: budget allocations, and settlement when work is done (费随事转).

    POST /allocations                 treasury -> a department's budget line (idempotent)
    GET  /accounts/<account>          an account's balance, derived from its postings
    GET  /transactions?petition_id=   the money a petition moved
"""

from services.funding import domain
from services.funding.schemas import Allocation, Transaction
from services.funding.store import FundingStore
from shared.consumers import subscribe
from shared.errors import InvalidFields
from shared.events import now
from shared.http import http, json_response, load_json
from shared.outbox import OutboxRelay
from shared.service import PlatformService
from shared.storage import Storage


class FundingService(PlatformService):
    name = "funding"

    store = Storage(FundingStore)
    relay = OutboxRelay("transactions")

    @http("POST", "/allocations")
    def allocate(self, request):
        transaction = domain.allocate(load_json(request, Allocation()), now())
        if self.store.record(transaction):
            return json_response(Transaction().dump(transaction), status=201)
        recorded = self.store.transaction(transaction["_id"])
        domain.same_allocation(recorded, transaction)
        return json_response(Transaction().dump(recorded))

    @http("GET", "/accounts/<account>")
    def get_account(self, request, account):
        balance = self.store.balance(account)
        return json_response({"account": account, "currency": domain.CURRENCY,
                              "balance_fen": balance["balance"], "postings": balance["postings"]})

    @http("GET", "/transactions")
    def list_transactions(self, request):
        petition_id = request.args.get("petition_id")
        if not petition_id:
            raise InvalidFields("Say whose transactions to list.",
                                fields={"petition_id": ["Give ?petition_id=<petition id>."]})
        return json_response({"transactions": Transaction(many=True).dump(
            self.store.for_petition(petition_id))})

    @subscribe("task.completed.v1")
    def settle(self, event):
        settlement = domain.settle(event.data, event)
        if settlement:
            transaction, settled = settlement
            self.store.record(transaction, [settled], event.key)
