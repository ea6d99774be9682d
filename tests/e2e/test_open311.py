"""A third-party Open311 GeoReport v2 client, unchanged, against the running petition service.

The client is civicbot (PyPI, MIT), which we did not write: it lists the
services, reads a service definition, posts a request form-encoded with
``attribute[...]`` fields, and reads the request back by id, by query and by token.
Its ``api_key`` is the token of an intake service account (a hotline's back end).
"""

import json

import pytest
from civicbot.http import HttpError, HttpTransport, RateLimiter
from civicbot.open311 import Open311Client
from civicbot.registry import Endpoint

from shared.auth import INTAKE
from tests.conftest import poll
from tools import demo_city
from tools.auth import operator_token


@pytest.fixture
def client(platform):
    endpoint = Endpoint(id="demo-county", name="Demo county 12345",
                        base_url=platform.url("petition") + "/open311/v2/", write=True)
    transport = HttpTransport(rate_limiter=RateLimiter(min_interval=0), timeout=10)
    return Open311Client(endpoint, transport, jurisdiction_id="demo-county")


def post(client, **fields):
    spot = demo_city.point_in(9, 0.5, 0.5)
    request = {"lat": spot["lat"], "lng": spot["lng"], "address_string": "Lane 4, Hexi",
               "description": "The drain at the end of lane 4 is blocked and smells.",
               "attributes": {"severity": "smell"}, **fields}
    return client.create_request("drains", dry_run=False, confirm="SEND",
                                 api_key=operator_token(INTAKE, sub="hotline-12345"),
                                 **request).response


def test_a_311_client_lists_services_and_reads_a_definition(client):
    services = {s["service_code"]: s for s in client.list_services()}
    assert services["drains"]["metadata"] is True and services["drains"]["type"] == "realtime"
    definition = client.get_service_definition("drains")
    severity = next(a for a in definition["attributes"] if a["code"] == "severity")
    assert severity["datatype"] == "singlevaluelist" and severity["required"] is True
    assert {"key": "smell", "name": "Smells"} in severity["values"]


def test_a_311_client_posts_a_request_and_reads_it_back(client, api):
    [created] = post(client, first_name="Li", last_name="Na", phone="13900001111",
                     media_url="https://photos.example.cn/drain-4.jpg")
    request_id = created["service_request_id"]

    read = client.get_request(request_id)  # the client unwraps the spec's one-item list
    assert read["service_code"] == "drains" and read["status"] == "open"
    assert read["description"].startswith("The drain at the end of lane 4")
    assert read["media_url"] == "https://photos.example.cn/drain-4.jpg"
    assert read["address"] == "Lane 4, Hexi"

    found = client.list_requests(service_request_ids=[request_id])
    assert [r["service_request_id"] for r in found] == [request_id]
    assert request_id in [r["service_request_id"]
                          for r in client.list_requests(service_code="drains", status="open")]
    assert client.get_token(created["token"]) == [
        {"service_request_id": request_id, "token": created["token"]}]

    # The lifecycle shows through: the dispatcher routes it, and 311 sees who handles it.
    dispatched = poll(lambda: (r := client.get_request(request_id))["agency_responsible"] and r,
                      what="the dispatch to show")
    assert dispatched["agency_responsible"] == "Drains and repairs team"
    assert dispatched["status_notes"].startswith("dispatched")
    assert dispatched["expected_datetime"]
    staff = api("petition").get(f"/staff/petitions/{request_id}").json()
    assert staff["reporter"]["name"] == "L* N*" and staff["channel"] == "online_platform"


def test_a_311_client_gets_errors_in_the_specs_format(client):
    with pytest.raises(HttpError) as refused:
        post(client, attributes={"severity": "volcanic"})
    assert refused.value.status == 400
    [error] = json.loads(refused.value.body)
    assert error["code"] == 400 and error["description"].startswith("attribute: severity")
    with pytest.raises(HttpError) as missing:
        client.get_request("P-does-not-exist")
    assert missing.value.status == 404


def test_a_311_client_may_give_the_grid_as_address_id_and_a_multivalue_attribute(client):
    [created] = client.create_request(
        "sanitation", dry_run=False, confirm="SEND", api_key=operator_token(INTAKE), address_id="g05",
        address_string="Behind the Hexi market", description="Rubbish piled behind the market.",
        attributes={"waste_type": ["household", "bulky"]}).response
    read = client.get_request(created["service_request_id"])
    assert read["address_id"] == "g05" and read["address"] == "Behind the Hexi market"
    south, west = demo_city.cell(5)
    assert south < read["lat"] < south + demo_city.CELL and west < read["long"] < west + demo_city.CELL
