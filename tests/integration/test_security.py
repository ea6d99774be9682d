"""Who may do what: tokens, sign-in, scope, rate limits, the audit trail and personal data.

The permission matrix itself is walked end to end in tests/e2e/test_permissions.py.
"""

import csv
import io
from datetime import timedelta

import jwt

from services.funding.service import FundingService
from services.grid.service import GridService
from services.petition.service import PetitionService
from shared import auth
from shared.auth import AUDITOR, GRID_STAFF, RESIDENT, Keyring, Principal
from shared.events import now
from shared.sealing import Sealer
from tests.conftest import poll
from tests.integration import test_petition_service as petition_tests
from tools import demo_city
from tools.auth import bearer, operator_token

DRAIN = petition_tests.DRAIN
petition_service = petition_tests.service  # the petition service knowing grids g01 and g02


def with_token(token):
    return {"Authorization": f"Bearer {token}"}


def signed(keys, role=AUDITOR, minutes=15, at=None, **claims):
    signing, public = keys
    return Keyring(public, signing).issue(Principal(sub="someone", role=role, **claims),
                                          at or now(), minutes)


# Tokens

def test_without_a_token_a_protected_endpoint_answers_401_and_says_how_to_sign_in(serve):
    api = serve(FundingService)
    answer = api.get("/reconciliation", headers={"Authorization": ""})
    assert answer.status_code == 401
    assert "POST /auth/token" in answer.json()["error"]["message"]


def test_an_expired_a_forged_or_a_foreign_token_is_refused(serve, isolated_config):
    api = serve(FundingService)
    ours = (isolated_config["AUTH_SIGNING_KEY"], isolated_config["AUTH_PUBLIC_KEYS"])
    expired = signed(ours, at=now() - timedelta(hours=1))
    forged = signed(ours)[:-6] + "AAAAAA"
    foreign = signed(auth.new_key("local-1"))  # our key's name, another key
    unsigned = jwt.encode({"sub": "x", "role": "administrator"}, key=None, algorithm="none")
    for token, says in ((expired, "expired"), (forged, "not valid"), (foreign, "not valid"),
                        (unsigned, "does not trust")):
        answer = api.get("/reconciliation", headers=with_token(token))
        assert answer.status_code == 401, token
        assert says in answer.json()["error"]["message"]


def test_during_a_key_rotation_both_keys_are_trusted_and_afterwards_only_the_new(serve):
    old, new = auth.new_key("k1"), auth.new_key("k2")
    during = serve(FundingService, AUTH_PUBLIC_KEYS=f"{new[1]},{old[1]}")
    after = serve(FundingService, AUTH_PUBLIC_KEYS=new[1])
    for keys in (old, new):
        assert during.get("/reconciliation", headers=with_token(signed(keys))).status_code == 200
    assert after.get("/reconciliation", headers=with_token(signed(new))).status_code == 200
    retired = after.get("/reconciliation", headers=with_token(signed(old)))
    assert retired.status_code == 401 and "retired" in retired.json()["error"]["message"]


# Signing in

def grid_with_registry(serve, **settings):
    api = serve(GridService, **settings)
    assert api.put("/registry", json=demo_city.registry()).status_code == 200
    return api


def sign_in(api, username, password):
    return api.post("/auth/token", headers={"Authorization": ""}, json={
        "grant_type": "password", "username": username, "password": password})


def test_a_user_signs_in_and_the_token_lists_the_grids_under_their_area(serve, isolated_config):
    api = grid_with_registry(serve)
    made = api.put("/users/li-ming", json={"name": "Li Ming", "role": "grid_staff",
                                           "area_id": "ws-1", "password": "a long password"})
    assert made.status_code == 200 and "password" not in made.text and "hash" not in made.text
    answer = sign_in(api, "li-ming", "a long password")
    assert answer.status_code == 200 and answer.json()["token_type"] == "Bearer"
    caller = Keyring(isolated_config["AUTH_PUBLIC_KEYS"]).verify(answer.json()["access_token"])
    workstation_grids = [g["id"] for g in demo_city.registry()["grids"]
                         if g["workstation_id"] == "ws-1"]
    assert caller.role == GRID_STAFF and list(caller.grids) == sorted(workstation_grids)
    assert caller.communities == ("c-hexi",)


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(serve):
    api = grid_with_registry(serve)
    api.put("/users/li-ming", json={"name": "Li Ming", "role": "auditor",
                                    "password": "a long password"})
    wrong, unknown = sign_in(api, "li-ming", "a wrong password"), sign_in(api, "nobody", "x")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    api.put("/users/li-ming", json={"name": "Li Ming", "role": "auditor", "active": False,
                                    "password": "a long password"})
    assert sign_in(api, "li-ming", "a long password").status_code == 401


def test_staff_accounts_need_a_place_that_exists(serve):
    api = grid_with_registry(serve)
    answer = api.put("/users/li-ming", json={"name": "Li Ming", "role": "dispatcher",
                                             "area_id": "sd-nowhere", "password": "a long password"})
    assert answer.status_code == 422 and "area_id" in answer.json()["error"]["fields"]


def test_a_service_account_gets_its_secret_once_and_signs_in_with_it(serve, isolated_config):
    api = grid_with_registry(serve)
    created = api.put("/service-accounts/hotline", json={"name": "12345 hotline",
                                                         "role": "intake"}).json()
    again = api.put("/service-accounts/hotline", json={"name": "12345 hotline", "role": "intake"})
    assert "client_secret" not in again.json()
    answer = api.post("/auth/token", headers={"Authorization": ""}, json={
        "grant_type": "client_credentials", "client_id": "hotline",
        "client_secret": created["client_secret"]})
    caller = Keyring(isolated_config["AUTH_PUBLIC_KEYS"]).verify(answer.json()["access_token"])
    assert caller.kind == "service" and caller.role == "intake"


def test_sign_in_attempts_are_rate_limited_per_client(serve):
    api = grid_with_registry(serve, LOGIN_PER_MINUTE=3)
    answers = [sign_in(api, "nobody", "guess").status_code for _ in range(4)]
    assert answers == [401, 401, 401, 429]
    limited = sign_in(api, "nobody", "guess")
    assert int(limited.headers["Retry-After"]) >= 1


# Intake

def test_a_resident_raising_petitions_too_fast_is_told_to_wait(serve):
    api = serve(PetitionService, INTAKE_PER_MINUTE=2)
    resident = bearer(RESIDENT, sub="resident-1")
    answers = [api.post("/petitions", headers=resident, json={}).status_code for _ in range(3)]
    assert answers == [422, 422, 429]
    other = bearer(RESIDENT, sub="resident-2")
    assert api.post("/petitions", headers=other, json={}).status_code == 422


# The audit trail

def test_changes_and_refusals_are_in_the_audit_trail_and_only_auditors_read_it(serve):
    api = serve(FundingService)
    api.post("/allocations", headers=bearer(sub="=HYPERLINK(\"http://evil\")"), json={
        "allocation_id": "a-1", "department_id": "housing", "budget_line": "public_services",
        "fiscal_year": 2026, "amount_fen": 100, "approved_by": "finance bureau"})
    api.get("/reconciliation", headers=bearer(GRID_STAFF, sub="li-ming"))
    entries = api.get("/audit", headers=bearer(AUDITOR)).json()["entries"]
    refused, allocated = entries[0], entries[1]
    assert (refused["actor"], refused["role"], refused["status"]) == ("li-ming", GRID_STAFF, 403)
    assert (allocated["method"], allocated["path"]) == ("POST", "/allocations")
    assert allocated["client"] == "127.0.0.1" and allocated["correlation_id"]
    assert api.get("/audit", headers=bearer(GRID_STAFF)).status_code == 403
    exported = api.get("/audit/export.csv", headers=bearer(AUDITOR)).text
    actors = [row["actor"] for row in csv.DictReader(io.StringIO(exported))]
    assert "'=HYPERLINK(\"http://evil\")" in actors  # a spreadsheet shows it, never runs it


# Personal data

def test_contact_details_are_sealed_at_rest_and_opened_only_for_staff_views(petition_service,
                                                                           db_of):
    api = petition_service()
    petition_id = api.post("/petitions", json=DRAIN).json()["id"]
    stored = db_of("petition").petitions.find_one({"_id": petition_id})
    assert "Wang" not in str(stored) and "13800001234" not in str(stored)
    staff = api.get(f"/staff/petitions/{petition_id}", headers=bearer(GRID_STAFF, grids=("g01",)))
    assert staff.json()["reporter"]["name"] == "Wang Fang"
    assert api.get(f"/petitions/{petition_id}").json()["reported_by"] == "W*** F***"


def test_the_retention_rule_removes_closed_petitions_contacts_and_keeps_their_figures(
        serve, db_of, isolated_config):
    petitions = db_of("petition").petitions
    long_ago = (now() - timedelta(days=400)).isoformat()
    base = {"grid_id": "g01", "category": "drains", "timeline": [], "version": 1,
            "raised_at": long_ago, "updated_at": long_ago}
    petitions.insert_many([
        {**base, "_id": "P-old", "state": "closed", "outcome": "satisfied", "closed_at": long_ago,
         "reporter": {"name": "Wang Fang", "phone": "13800001234", "anonymous": False}},
        {**base, "_id": "P-open", "state": "in_progress",
         "reporter": {"name": "Li Lei", "phone": "13900001234", "anonymous": False}}])
    serve(PetitionService, PETITION_SWEEP_SECONDS=0.2)
    forgotten = poll(lambda: petitions.find_one({"_id": "P-old", "reporter.removed_at":
                                                 {"$exists": True}}), what="the retention sweep")
    assert "Wang" not in str(forgotten) and forgotten["reporter"]["anonymous"] is False
    assert (forgotten["state"], forgotten["outcome"], forgotten["category"]) == (
        "closed", "satisfied", "drains")
    sealed = poll(lambda: petitions.find_one({"_id": "P-open", "reporter.sealed":
                                              {"$exists": True}}), what="the legacy contact sealed")
    assert "Li Lei" not in str(sealed) and "13900001234" not in str(sealed)
    # Once nothing is left to seal, the pass is recorded and not repeated every sweep.
    newest = Sealer(isolated_config["SEAL_KEYS"]).fingerprint
    poll(lambda: db_of("petition").sweeps.find_one({"_id": "resealing",
                                                     "fingerprint": newest}),
         what="the resealing pass recorded under the newest key")


def test_an_operator_token_is_minted_from_the_signing_key(isolated_config):
    keys = {k: isolated_config[k] for k in ("AUTH_SIGNING_KEY", "AUTH_PUBLIC_KEYS")}
    token = operator_token(GRID_STAFF, keys=keys, grids=("g01",))
    assert Keyring(keys["AUTH_PUBLIC_KEYS"]).verify(token).grids == ("g01",)


def test_behind_the_ingress_the_client_is_the_one_it_forwarded_for(serve):
    api = grid_with_registry(serve, LOGIN_PER_MINUTE=2, TRUSTED_PROXY_HOPS=1)

    def attempt(client):
        return api.post("/auth/token", headers={"Authorization": "",
                                                "X-Forwarded-For": client}, json={
            "grant_type": "password", "username": "nobody", "password": "guess"}).status_code

    assert [attempt("10.0.0.1") for _ in range(3)] == [401, 401, 429]
    assert attempt("10.0.0.2") == 401  # another resident behind the same ingress
