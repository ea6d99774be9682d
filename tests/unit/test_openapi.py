"""Each service's OpenAPI document is written from the declarations its endpoints
validate with, so it lists every endpoint and cannot drift from what is enforced."""

import pytest

from services.funding.schemas import Allocation
from services.funding.service import FundingService
from services.grid.service import GridService
from services.petition.service import COMMANDS, PetitionService
from services.volunteer.service import VolunteerService
from services.webhooks.service import WebhookBridge
from shared.http import ByPath
from shared.openapi import document, endpoints

SERVICES = [GridService, PetitionService, VolunteerService, FundingService, WebhookBridge]


def operations(doc):
    return {(method.upper(), path) for path, item in doc["paths"].items() for method in item}


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_the_document_lists_every_endpoint_of_the_service(service):
    expected = 0
    for _, endpoint in endpoints(service):
        expected += len(endpoint.body.schemas) if isinstance(endpoint.body, ByPath) else 1
    assert len(operations(document(service))) == expected
    assert ("GET", "/openapi.json") in operations(document(service))


def test_a_command_route_is_one_path_per_command_each_with_its_own_body():
    doc = document(PetitionService)
    for word, (schema, _, _) in COMMANDS.items():
        body = doc["paths"][f"/petitions/{{petition_id}}/{word}"]["post"]["requestBody"]
        assert body["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{schema.__name__}"}


def test_a_body_is_documented_by_the_schema_that_validates_it():
    doc = document(FundingService)
    operation = doc["paths"]["/allocations"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Allocation"}
    allocation = doc["components"]["schemas"]["Allocation"]
    assert set(allocation["required"]) == {name for name, field in Allocation().fields.items()
                                           if field.required}
    assert allocation["additionalProperties"] is False
    assert set(operation["responses"]) == {"201", "200", "4XX"}


def test_query_parameters_come_from_the_query_schema():
    doc = document(PetitionService)
    parameters = {p["name"]: p for p in doc["paths"]["/staff/petitions"]["get"]["parameters"]}
    assert parameters["state"]["in"] == "query"
    assert "raised" in parameters["state"]["schema"]["enum"]
    assert parameters["limit"]["schema"]["maximum"] == 200


def test_open311_endpoints_document_the_specifications_error_format():
    doc = document(PetitionService)
    errors = doc["paths"]["/open311/v2/requests.json"]["post"]["responses"]["4XX"]
    assert errors["content"]["application/json"]["schema"]["type"] == "array"
