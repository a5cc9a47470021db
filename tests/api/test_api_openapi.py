"""The OpenAPI document is valid and complete; the docs page renders it without scripts."""

from __future__ import annotations

from openapi_spec_validator import validate

EXPECTED_PATHS = {
    "/api/v1/demands": {"get", "post"},
    "/api/v1/demands/{demand_id}": {"get", "patch"},
    "/api/v1/demands/{demand_id}/close": {"post"},
    "/api/v1/outcomes": {"get", "post"},
    "/api/v1/outcomes/{outcome_id}": {"get", "patch"},
    "/api/v1/outcomes/{outcome_id}/patents": {"get", "post"},
    "/api/v1/patents": {"get"},
    "/api/v1/taxonomies/ipc": {"get"},
    "/api/v1/taxonomies/industries": {"get"},
    "/api/v1/taxonomies/suggest": {"get"},
    "/api/v1/search": {"get"},
    "/api/v1/me": {"get"},
    "/api/v1/tokens": {"get", "post"},
    "/api/v1/tokens/{token_id}": {"delete"},
}


def test_openapi_document_is_valid(client):
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    spec = answer.json
    validate(spec)
    assert spec["openapi"].startswith("3.")
    for path, methods in EXPECTED_PATHS.items():
        assert methods <= set(spec["paths"][path]), path


def test_error_and_security_components(client):
    spec = client.get("/api/v1/openapi.json").json
    error = spec["components"]["schemas"]["ErrorOut"]
    assert error["properties"]["code"]["type"] == "string"
    assert set(error["required"]) == {"code", "message"}
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    create = spec["paths"]["/api/v1/demands"]["post"]["responses"]
    assert {"201", "401", "403", "422"} <= set(create)
    page = spec["components"]["schemas"]["DemandPage"]["properties"]
    assert {"items", "total", "page", "pages", "per_page"} <= set(page)


def test_docs_page_lists_operations_without_inline_script(client):
    answer = client.get("/api/v1/docs")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "/api/v1/demands/{demand_id}" in html
    assert "DemandOut" in html
    assert "<script>" not in html and "style=" not in html
    assert "http://" not in html.replace("http://localhost", "")
