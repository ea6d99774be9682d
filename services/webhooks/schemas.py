from marshmallow import Schema, ValidationError, fields, validate, validates

from services.webhooks.domain import matches
from shared.catalogue import CATALOGUE
from shared.schemas import Strict


class SubscriptionRequest(Strict):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    event_types = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                              required=True, validate=validate.Length(min=1, max=50),
                              metadata={"description": "Patterns as AMQP topics: "
                                                       "petition.*.v1, funds.#, #"})
    description = fields.String(load_default=None, validate=validate.Length(max=200))

    @validates("event_types")
    def each_matches_an_event_type(self, patterns, **kwargs):
        unknown = [p for p in patterns if not any(matches(p, e.type) for e in CATALOGUE)]
        if unknown:
            raise ValidationError(f"{', '.join(unknown)} match no event type; see "
                                  "GET /asyncapi.json for the types.")


class SubscriptionView(Schema):
    id = fields.String(attribute="_id", required=True)
    url = fields.String(required=True)
    event_types = fields.List(fields.String(), required=True)
    description = fields.String(allow_none=True)
    active = fields.Boolean(required=True)
    created_at = fields.String(required=True)


class SubscriptionCreated(SubscriptionView):
    secret = fields.String(required=True, metadata={
        "description": "Shown once: the key the receiver checks X-Webhook-Signature with."})


class Subscriptions(Schema):
    subscriptions = fields.List(fields.Nested(SubscriptionView), required=True)


class Attempt(Schema):
    at = fields.String(required=True)
    status = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    milliseconds = fields.Integer(required=True)


class Delivery(Schema):
    id = fields.String(attribute="_id", required=True)
    event_id = fields.String(required=True)
    event_type = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(
        ("pending", "delivered", "failed")))
    next_at = fields.String(allow_none=True)
    attempts = fields.List(fields.Nested(Attempt), required=True)


class DeliveryLog(Schema):
    subscription_id = fields.String(required=True)
    deliveries = fields.List(fields.Nested(Delivery), required=True)
