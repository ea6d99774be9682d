from marshmallow import Schema, fields, validate

from services.funding.domain import BUDGET_LINES
from shared.schemas import Moment, Query, Strict

SLUG = validate.Regexp(r"^[a-z0-9_-]{1,40}$", error="Use lower-case letters, digits, - and _.")


class Allocation(Strict):
    """An allocation or a top-up of a budget line, with who approved it."""

    allocation_id = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$"))
    department_id = fields.String(required=True, validate=SLUG)
    budget_line = fields.String(required=True, validate=validate.OneOf(BUDGET_LINES))
    fiscal_year = fields.Integer(required=True, validate=validate.Range(2000, 2100))
    amount_fen = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    approved_by = fields.String(required=True, validate=validate.Length(min=1, max=100))
    approval = fields.String(load_default=None, validate=validate.Length(max=100), metadata={
        "description": "The approval document's reference, e.g. a finance bureau notice."})


class Approval(Strict):
    """Approval of a cost above the hold, so it can be captured."""

    petition_id = fields.String(required=True)
    round = fields.Integer(required=True, validate=validate.Range(min=1))
    amount_fen = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    approved_by = fields.String(required=True, validate=validate.Length(min=1, max=100))
    note = fields.String(load_default=None, validate=validate.Length(max=500))


class Reversal(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=2, max=500))
    approved_by = fields.String(required=True, validate=validate.Length(min=1, max=100))


class StatementQuery(Query):
    department_id = fields.String(validate=SLUG)
    budget_line = fields.String(validate=validate.OneOf(BUDGET_LINES))
    fiscal_year = fields.Integer(validate=validate.Range(2000, 2100))
    community_id = fields.String()
    grid_id = fields.String()
    account = fields.String()
    phase = fields.String(validate=validate.OneOf(("approved", "committed", "executed")))
    from_ = Moment(data_key="from", attribute="from", metadata={
        "description": "Postings recorded from this time on."})
    to = Moment(metadata={"description": "... and before this."})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000), metadata={
        "description": "Lines per page; a page may hold fewer (it reads at most a week of "
                       "the ledger), so follow next until it is null."})
    cursor = fields.String(validate=validate.Length(max=300), metadata={
        "description": "The next of the previous page, unchanged."})


class StatementLine(Schema):
    transaction_id = fields.String(required=True)
    kind = fields.String(required=True)
    recorded_at = fields.String(required=True)
    account = fields.String(required=True)
    amount_fen = fields.Integer(required=True)
    currency = fields.String()
    department_id = fields.String(allow_none=True)
    budget_line = fields.String(allow_none=True)
    fiscal_year = fields.Integer(allow_none=True)
    phase = fields.String()
    petition_id = fields.String()
    order_id = fields.String()
    task_id = fields.String()
    grid_id = fields.String(allow_none=True)
    community_id = fields.String(allow_none=True)


class Statement(Schema):
    where = fields.Dict(required=True, metadata={"description": "The filter, as applied."})
    from_ = fields.String(data_key="from", attribute="from", required=True, allow_none=True)
    to = fields.String(required=True, allow_none=True)
    totals_fen = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                             metadata={"description": "The whole period's sum by phase."})
    lines = fields.List(fields.Nested(StatementLine), required=True, metadata={
        "description": "This page of the matching postings, in the order recorded."})
    next = fields.String(required=True, allow_none=True, metadata={
        "description": "The cursor of the next page; null on the last."})


class TransactionQuery(Query):
    petition_id = fields.String(required=True, validate=validate.Length(min=1), metadata={
        "description": "The petition whose transactions to list."})


class Posting(Schema):
    account = fields.String()
    amount_fen = fields.Integer()
    phase = fields.String()


class Transaction(Schema):
    id = fields.String(attribute="_id")
    kind = fields.String()
    postings = fields.List(fields.Nested(Posting))
    currency = fields.String()
    department_id = fields.String()
    fiscal_year = fields.Integer()
    budget_line = fields.String()
    petition_id = fields.String()
    order_id = fields.String()
    cost_fen = fields.Integer()
    approval = fields.Raw(allow_none=True)
    approved_by = fields.String()
    reverses = fields.String()
    recorded_at = fields.String()


class Transactions(Schema):
    transactions = fields.List(fields.Nested(Transaction), required=True)


class Account(Schema):
    account = fields.String(required=True)
    currency = fields.String(required=True)
    balance_fen = fields.Integer(required=True)
    postings = fields.Integer(required=True, metadata={
        "description": "How many transactions post to the account."})


class AllocationMade(Transaction):
    unblocked = fields.List(fields.String(), metadata={
        "description": "Orders that were blocked on this line and now hold or capture."})
