"""The REST API against its own OpenAPI schema, with schemathesis (SQLite only).

For every operation of ``/api/v1/openapi.json`` schemathesis generates requests (derandomized,
a few dozen per operation) and sends them to the ASGI app with a real bearer token (Acme's
administrator). No answer may be a server error, and every answer must be documented: status
code, content type, headers and body schema. Operations under a company draw the company id
both freely (mostly 404) and as Acme's, and some also draw from known-good values (Acme's Drop
Copy session, request, iLink 3 session, the admin's password), so the actions themselves run:
requests are submitted, keys generated until a choice is needed (409), and so on.

``POST /auth/sign-out`` is left out: it would revoke the token the other cases use (its own
behaviour is tested in ``test_api.py``).

schemathesis's pytest plugin (``@schema.parametrize``) does not work with pytest 9.2 (it reads
``Node._nodeid``), so each operation is driven by Hypothesis through ``as_strategy``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dropcopy.portal import Portal
from dropcopy.portal import api as portal_api
from tests.portal.conftest import PASSWORD, FakeClock, sign_in

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
LEFT_OUT = {"POST /api/v1/auth/sign-out"}


def _labels() -> list[str]:
    """The API's operations (the router alone: building it touches no portal)."""
    placeholder = FastAPI()
    placeholder.include_router(portal_api.router(SimpleNamespace(portal=None)), prefix="/api/v1")  # type: ignore[arg-type]
    paths = placeholder.openapi()["paths"]
    return [f"{method.upper()} {path}" for path, ops in paths.items() for method in ops]


OPERATIONS = [label for label in _labels() if label not in LEFT_OUT]


@pytest.fixture
def backend() -> str:
    """SQLite only: the schema does not depend on the database."""
    return "sqlite"


@pytest.fixture
def api_schema(app: FastAPI) -> Any:
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


@pytest.fixture
def admin_headers(portal: Portal) -> dict[str, str]:
    return {"Authorization": f"Bearer {sign_in(portal, 'admin@acme.example')}"}


@pytest.fixture
def known(portal: Portal, clock: FakeClock, world: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Per operation, fixed parts that address Acme's real objects."""
    admin = portal.actor(sign_in(portal, "admin@acme.example"), world["acme"])
    portal.submit_create(
        admin,
        environment="CERT",
        session_type="CGW",
        number_of_sessions=1,
        business_rationale="schema test",
        source_ids=[world["abc"]],
    )
    clock.advance(60)
    report = portal.run_batch()
    [rid] = report["completed"]
    dc = portal.request(admin, rid).result["ids"][0]  # type: ignore[index]
    acme = {"company_id": world["acme"]}
    session = {**acme, "session_pk": dc}
    refs = [f"dropcopy:{dc}", f"ilink3:{world['abc']}"]
    base = "/api/v1/companies/{company_id}"
    return {
        "POST /api/v1/auth/sign-in": {
            "body": {"email": "admin@acme.example", "password": PASSWORD}
        },
        f"GET {base}/sessions/{{session_pk}}": {"path_parameters": session},
        f"GET {base}/sessions/{{session_pk}}/ips": {"path_parameters": session},
        f"POST {base}/sessions/{{session_pk}}/sources": {"path_parameters": session},
        f"GET {base}/requests/{{request_id}}": {"path_parameters": {**acme, "request_id": rid}},
        f"POST {base}/keys/overview": {"path_parameters": acme, "body": {"sessions": refs}},
        f"POST {base}/keys/generate": {"path_parameters": acme, "body": {"sessions": refs}},
        f"POST {base}/keys/delete": {
            "path_parameters": acme,
            "body": {"keys": {refs[1]: []}, "confirm": True},
        },
        f"POST {base}/keys/download": {
            "path_parameters": acme,
            "body": {"sessions": refs, "code": "123456"},
        },
    }


def test_the_served_schema_has_the_tested_operations(api_schema: Any) -> None:
    served = {op.ok().label for op in api_schema.get_all_operations()}
    assert served == set(OPERATIONS) | LEFT_OUT


@pytest.mark.parametrize("label", OPERATIONS)
def test_every_answer_is_documented_and_none_is_a_server_error(
    label: str,
    api_schema: Any,
    admin_headers: dict[str, str],
    world: dict[str, int],
    known: dict[str, dict[str, Any]],
) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, label
    strategies = [operation.as_strategy()]
    if "{company_id}" in label:
        strategies.append(operation.as_strategy(path_parameters={"company_id": world["acme"]}))
    if label in known:
        strategies.append(operation.as_strategy(**known[label]))
    strategy = st.one_of(strategies)

    @settings(
        max_examples=20,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=admin_headers, checks=CHECKS)

    check()
