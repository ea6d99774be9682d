"""Categories of petition, each with the extra fields it asks for.

A category is also an Open311 *service*: its attributes are typed the way
GeoReport v2 types them (string, number, datetime, text, singlevaluelist,
multivaluelist), so one definition drives the native API, the Open311
service definition, and the validation of both.
"""

from marshmallow import Schema, ValidationError, fields, validate

from shared.errors import InvalidFields

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")


def _attribute(code, description, datatype, required=False, values=None, order=1):
    return {"code": code, "description": description, "datatype": datatype, "required": required,
            "variable": True, "order": order, "datatype_description": None,
            "values": [{"key": k, "name": n} for k, n in (values or {}).items()]}


def _category(code, name, group, description, keywords, *attributes):
    return {"_id": code, "name": name, "group": group, "description": description,
            "keywords": keywords, "active": True,
            "attributes": [dict(a, order=i) for i, a in enumerate(attributes, start=1)]}


YES_NO = {"yes": "Yes", "no": "No"}

DEFAULT_CATEGORIES = [
    _category("drains", "Blocked or overflowing drain", "Public works",
              "Drains, gullies and sewers in lanes and alleys", ["drain", "sewer", "flood"],
              _attribute("severity", "How bad is it?", "singlevaluelist", True,
                         {"blocked": "Blocked", "overflowing": "Overflowing", "smell": "Smells"}),
              _attribute("since", "Since when?", "datetime")),
    _category("street_lighting", "Street light out", "Public works",
              "Street and lane lights that are out or flickering", ["light", "lamp"],
              _attribute("pole_number", "Number on the pole, if any", "string"),
              _attribute("lights_out", "How many lights are out?", "number")),
    _category("sanitation", "Rubbish and cleanliness", "Environment",
              "Rubbish not collected, fly-tipping, dirty public spaces", ["rubbish", "litter"],
              _attribute("waste_type", "What kind of waste?", "multivaluelist", True,
                         {"household": "Household", "construction": "Construction",
                          "bulky": "Bulky items", "hazardous": "Hazardous"})),
    _category("neighbour_dispute", "Neighbour dispute", "Mediation",
              "Noise, boundaries, shared spaces: matters for mediation", ["noise", "dispute"],
              _attribute("dispute_type", "What is it about?", "singlevaluelist", True,
                         {"noise": "Noise", "boundary": "Boundary", "shared_space": "Shared space",
                          "other": "Other"}),
              _attribute("parties", "How many households are involved?", "number")),
    _category("safety_hazard", "Safety hazard", "Safety",
              "Dangerous structures, open manholes, loose wiring", ["danger", "hazard"],
              _attribute("people_at_risk", "Are people at risk right now?", "singlevaluelist",
                         True, YES_NO)),
    _category("fire_hazard", "Fire hazard", "Safety",
              "Blocked fire exits, stored fuel, e-bikes charging in stairwells", ["fire"],
              _attribute("hazard", "What kind of hazard?", "singlevaluelist", True,
                         {"blocked_exit": "Blocked exit", "ebike_charging": "E-bike charging",
                          "stored_fuel": "Stored fuel", "other": "Other"})),
    _category("legal_question", "Legal question", "Legal aid",
              "Questions for the grid's legal service officer", ["law", "contract"],
              _attribute("topic", "What is it about?", "singlevaluelist", False,
                         {"family": "Family", "labour": "Work and wages", "housing": "Housing",
                          "other": "Other"})),
    _category("elderly_care", "Care for an elderly resident", "Care",
              "An older resident who needs a visit, help or care", ["elderly", "care"],
              _attribute("age", "Age of the resident", "number"),
              _attribute("lives_alone", "Does the resident live alone?", "singlevaluelist",
                         True, YES_NO)),
    _category("left_behind_children", "Left-behind child", "Care",
              "Children whose parents work away and who need support", ["children"]),
    _category("unemployment", "Help finding work", "Livelihood",
              "Residents out of work who want training or a job", ["job", "training"]),
    _category("migrant_services", "Services for migrants", "Livelihood",
              "Registration, schooling and services for residents from elsewhere", ["migrant"]),
    _category("other", "Something else", "Other", "Anything the other categories do not cover",
              [], _attribute("details", "Tell us more", "text")),
]


def _field(attribute):
    keys = [v["key"] for v in attribute["values"]]
    one_of = validate.OneOf(keys, error="Choose one of: {choices}.")
    field = {
        "string": lambda: fields.String(validate=validate.Length(max=1000)),
        "text": lambda: fields.String(validate=validate.Length(max=4000)),
        "number": lambda: fields.Float(allow_nan=False),
        "datetime": lambda: fields.DateTime(format="iso"),
        "singlevaluelist": lambda: fields.String(validate=one_of),
        "multivaluelist": lambda: fields.List(fields.String(validate=one_of),
                                              validate=validate.Length(min=1)),
    }[attribute["datatype"]]()
    field.required = attribute["required"]
    return field


def check_attributes(category, values):
    """The category's extra fields, typed and checked; field errors name each attribute."""
    schema = Schema.from_dict({a["code"]: _field(a) for a in category["attributes"]
                               if a["variable"]}, name=f"Attributes_{category['_id']}")()
    try:
        loaded = schema.load(values)
    except ValidationError as exc:
        raise InvalidFields(f"Some details the category {category['_id']!r} asks for are missing "
                            f"or invalid; see GET /categories/{category['_id']} and send them again.",
                            fields={"attributes": exc.messages}) from None
    return {code: value.isoformat() if hasattr(value, "isoformat") else value
            for code, value in loaded.items()}


def check_definition(category):
    """A list attribute needs values to choose from; codes are unique."""
    problems = {}
    codes = [a["code"] for a in category["attributes"]]
    for i, attribute in enumerate(category["attributes"]):
        if attribute["datatype"].endswith("valuelist") and not attribute["values"]:
            problems[i] = {"values": ["A list attribute needs at least one value to choose."]}
        if codes.count(attribute["code"]) > 1:
            problems[i] = {"code": [f"Code {attribute['code']!r} is used twice; make it unique."]}
    if problems:
        raise InvalidFields("Some attributes are not well defined; correct them and send again.",
                            fields={"attributes": problems})
