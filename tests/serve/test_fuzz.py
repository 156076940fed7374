"""Property-based: requests built from the OpenAPI document, every route; no 500, and
every refusal a documented JSON error with a status the document lists."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.text(max_size=20),
    st.lists(st.text(max_size=10), max_size=3),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=2),
)


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    ops = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters" or "101" in op["responses"]:
                continue  # WebSocket routes: tested in test_terminal.py and the conformance suite
            if (method, path) == ("put", "/v1/files"):
                continue  # would write where the fuzzer says
            ops.append((method, path, op))
    return ops


def _body(op: dict[str, Any], schemas: dict[str, Any]) -> st.SearchStrategy[Any]:
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return st.none()
    schema = content["schema"]
    if "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
    keys = [*sorted(schema.get("properties", {})), "unknown"]
    return st.one_of(
        st.dictionaries(st.sampled_from(keys), _VALUES, max_size=4),
        st.just({"argv": ["true"]}),
        _VALUES,
    )


@pytest.fixture(scope="module")
def document(api: httpx.Client) -> dict[str, Any]:
    doc: dict[str, Any] = api.get("/v1/openapi.json").json()
    return doc


def test_every_route_answers_with_documented_statuses(
    api: httpx.Client, document: dict[str, Any]
) -> None:
    schemas = document["components"]["schemas"]
    limits = api.get("/v1/limits").json()
    try:
        for method, path, op in _operations(document):
            check = _checker(api, method, path, op)
            strategy = st.tuples(
                st.from_regex(r"[A-Za-z0-9._-]{1,12}", fullmatch=True),
                _body(op, schemas),
                st.dictionaries(
                    st.sampled_from(["cursor", "tail", "stream", "maxBytes", "path", "token"]),
                    st.text(max_size=6),
                    max_size=2,
                ),
            )
            given(strategy)(
                settings(
                    max_examples=8,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )(check)
            )()
    finally:
        api.put("/v1/limits", json=limits)


def _checker(api: httpx.Client, method: str, path: str, op: dict[str, Any]) -> Any:
    documented = {int(code) for code in op["responses"]} | {401, 405, 413}

    def check(case: tuple[str, Any, dict[str, str]]) -> None:
        pid, body, params = case
        url = re.sub(r"\{id\}", pid, path)
        kwargs: dict[str, Any] = {"params": params}
        if body is not None:
            kwargs["json"] = body
        r = api.request(method.upper(), url, **kwargs)
        assert r.status_code != 500, (method, url, body, r.text)
        assert r.status_code in documented | {200, 201, 204}, (method, url, r.status_code, r.text)
        if r.status_code >= 400:
            error = r.json()["error"]
            assert isinstance(error["type"], str) and isinstance(error["message"], str)
        if method == "post" and path == "/v1/processes" and r.status_code == 201:
            created = r.json()["id"]
            api.post(f"/v1/processes/{created}/kill", json={})
            api.delete(f"/v1/processes/{created}")

    return check
