"""Every HTTP API keeps the contract of its OpenAPI document under generated input.

schemathesis reads each service's document and, operation by operation, sends what the
document allows and what it forbids. No answer may be a 5xx; every status, content type
and body must be one the document declares; input the document forbids must be refused
with a 4xx. Each service process serves the same document at /openapi.json. The
requests carry an administrator's token, so they reach every endpoint's handler.
"""

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from services.funding.service import FundingService
from services.grid.service import GridService
from services.petition.service import PetitionService
from services.volunteer.service import VolunteerService
from services.webhooks.service import WebhookBridge
from shared.openapi import document
from tools.auth import bearer

SERVICES = {"grid": GridService, "petition": PetitionService, "volunteer": VolunteerService,
            "funding": FundingService, "webhooks": WebhookBridge}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]
EXAMPLES = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


def contract(service):
    return schemathesis.openapi.from_dict(document(SERVICES[service]))


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_serves_its_openapi_document(contract_platform, service):
    served = requests.get(contract_platform.url(service) + "/openapi.json", timeout=10)
    assert served.status_code == 200
    assert served.json() == document(SERVICES[service])


@contract("grid").parametrize()
@EXAMPLES
def test_grid_api_keeps_its_contract(contract_platform, case):
    case.call_and_validate(base_url=contract_platform.url("grid"), headers=bearer(),
                           checks=CHECKS)


@contract("petition").parametrize()
@EXAMPLES
def test_petition_api_keeps_its_contract(contract_platform, case):
    case.call_and_validate(base_url=contract_platform.url("petition"), headers=bearer(),
                           checks=CHECKS)


@contract("volunteer").parametrize()
@EXAMPLES
def test_volunteer_api_keeps_its_contract(contract_platform, case):
    case.call_and_validate(base_url=contract_platform.url("volunteer"), headers=bearer(),
                           checks=CHECKS)


@contract("webhooks").parametrize()
@EXAMPLES
def test_webhook_api_keeps_its_contract(contract_platform, case):
    case.call_and_validate(base_url=contract_platform.url("webhooks"), headers=bearer(),
                           checks=CHECKS)


@contract("funding").parametrize()
@EXAMPLES
def test_funding_api_keeps_its_contract(contract_platform, case):
    case.call_and_validate(base_url=contract_platform.url("funding"), headers=bearer(),
                           checks=CHECKS)
