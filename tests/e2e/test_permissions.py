"""The permission matrix, walked: every role (and no token at all) against every endpoint.

The expected answer comes from what each endpoint declares (the README's matrix is
generated from the same declarations): a role it admits is never answered 401 or 403,
a role it does not admit is answered 403, and a caller without a token is answered 401
by every endpoint that is not public. Callers are scoped to one team leader's community
(all its grids), volunteer record and the housing department, and the sample ids in the
paths are theirs, so an admitted role is never refused for scope. Bodies are invalid on
purpose (an unknown field), so an admitted request is refused at validation and the
walk changes nothing.
"""

import csv

import pytest
import requests

from shared import auth
from tools import demo_city
from tools.auth import operator_token
from tools.permissions_doc import matrix

LEADER_ID, LEADER = next(iter(demo_city.volunteers()))
TEAM_ID = next(iter(demo_city.teams()))[0]
SAMPLES = {
    "petition_id": "P-000000000000", "task_id": "T-P-000000000000-1", "proposal_id": "PR-0",
    "grid_id": LEADER["home_grid_id"], "place_id": LEADER["home_grid_id"],
    "community_id": LEADER["community_id"], "volunteer_id": LEADER_ID, "team_id": TEAM_ID,
    "department_id": "housing", "account": "dept:housing:public_infrastructure:2026",
    "transaction_id": "hold:P-000000000000/1", "code": "drains", "table": "grids",
    "token": "none", "branch_id": "branch-none", "item_id": "item-none",
    "username": "nobody", "client_id": "nobody", "subscription_id": "WH-none",
    "event_type": "petition.raised.v1", "check_id": "SC-none", "dimension": "leadership",
    "year": "2026"}
# Every grid of the leader's community: a community's figures need the whole of it.
COMMUNITY_GRIDS = tuple(sorted(
    grid["id"] for grid in csv.DictReader(open(demo_city.FILES / "grids.csv", encoding="utf-8"))
    if grid["workstation_id"] in {ws["id"] for ws in csv.DictReader(
        open(demo_city.FILES / "workstations.csv", encoding="utf-8"))
        if ws["community_id"] == LEADER["community_id"]}))
SCOPE = {"grids": COMMUNITY_GRIDS, "communities": (LEADER["community_id"],),
         "department_id": "housing", "volunteer_id": LEADER_ID}
ROLES = list(auth.ROLES)
NOT_A_FIELD = {"not_a_field": 1}


def concrete(path):
    for name, value in SAMPLES.items():
        path = path.replace(f"<{name}>", value).replace(f"<path:{name}>", value)
    return path


def call(platform, service, method, path, headers):
    return requests.request(method, platform.url(service) + concrete(path), headers=headers,
                            json=NOT_A_FIELD if method in ("POST", "PUT") else None, timeout=10)


@pytest.mark.parametrize("service, method, path, roles", matrix(),
                         ids=[f"{s} {m} {p}" for s, m, p, _ in matrix()])
def test_every_role_gets_what_the_matrix_says(platform, service, method, path, roles):
    wrong = []
    anonymous = call(platform, service, method, path, {})
    if roles != auth.PUBLIC and anonymous.status_code != 401:
        wrong.append(f"no token: {anonymous.status_code}, expected 401")
    if roles == auth.PUBLIC and anonymous.status_code in (401, 403):
        wrong.append(f"no token: {anonymous.status_code} on a public endpoint")
    for role in ROLES:
        token = operator_token(role, sub=f"matrix-{role}", **SCOPE)
        answer = call(platform, service, method, path, {"Authorization": f"Bearer {token}"})
        admitted = roles == auth.PUBLIC or role in roles
        if admitted and answer.status_code in (401, 403):
            wrong.append(f"{role}: {answer.status_code} {answer.text[:160]}")
        if not admitted and answer.status_code != 403:
            wrong.append(f"{role}: {answer.status_code}, expected 403")
    assert not wrong, "\n".join(wrong)
