from marshmallow import Schema, fields, validate

from shared.schemas import Strict


class Allocation(Strict):
    allocation_id = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$"))
    department_id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_-]{1,40}$"))
    budget_line = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_-]{1,40}$"))
    fiscal_year = fields.Integer(required=True, validate=validate.Range(2000, 2100))
    amount_fen = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    approved_by = fields.String(required=True, validate=validate.Length(min=1, max=100))


class Posting(Schema):
    account = fields.String()
    amount_fen = fields.Integer()


class Transaction(Schema):
    id = fields.String(attribute="_id")
    kind = fields.String()
    postings = fields.List(fields.Nested(Posting))
    currency = fields.String()
    fiscal_year = fields.Integer()
    budget_line = fields.String()
    petition_id = fields.String()
    task_id = fields.String()
    recorded_at = fields.String()
