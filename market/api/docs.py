"""/api/v1/docs — a readable page rendered from the OpenAPI document on the server.

No JavaScript and no CDN: the page lists operations, parameters, bodies and schemas itself, so it
works offline and under the strict Content-Security-Policy.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

bp = Blueprint("api_docs_page", __name__, template_folder="templates")
METHODS = ("get", "post", "put", "patch", "delete")


@bp.route("/api/v1/docs")
def docs():
    spec = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    return render_template(
        "api/docs.html",
        info=spec["info"],
        groups=operations_by_tag(spec),
        schemas=schemas(spec),
    )


def ref_name(node: dict | None) -> str:
    """'#/components/schemas/DemandOut' -> 'DemandOut'; inline schemas by their type."""
    if not node:
        return ""
    if "$ref" in node:
        return node["$ref"].rsplit("/", 1)[-1]
    if node.get("type") == "array":
        return f"{ref_name(node.get('items'))}[]"
    return node.get("type", "object")


def _content_schema(node: dict, spec: dict) -> str:
    if "$ref" in node:
        node = spec["components"]["responses"].get(ref_name(node), {})
    content = node.get("content", {}).get("application/json", {})
    return ref_name(content.get("schema"))


def operations_by_tag(spec: dict) -> list[dict]:
    groups: dict[str, dict[str, Any]] = {}
    for tag in spec.get("tags", []):
        groups[tag["name"]] = {
            "name": tag["name"],
            "description": tag.get("description"),
            "ops": [],
        }
    for path, item in spec["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            tag = (op.get("tags") or ["其他"])[0]
            group = groups.setdefault(tag, {"name": tag, "description": "", "ops": []})
            group["ops"].append(_operation(path, method, op, item, spec))
    return [group for group in groups.values() if group["ops"]]


def _operation(path: str, method: str, op: dict, item: dict, spec: dict) -> dict:
    params = [*item.get("parameters", []), *op.get("parameters", [])]
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    return {
        "method": method.upper(),
        "path": path,
        "summary": op.get("summary") or "",
        "params": [
            {
                "name": p.get("name"),
                "in": p.get("in"),
                "required": p.get("required", False),
                "type": ref_name(p.get("schema")),
                "description": (p.get("schema") or {}).get("description") or "",
            }
            for p in params
        ],
        "body": ref_name(body.get("schema")),
        "responses": [
            {"status": status, "schema": _content_schema(resp, spec)}
            for status, resp in op.get("responses", {}).items()
        ],
    }


def schemas(spec: dict) -> list[dict]:
    result = []
    for name, schema in sorted(spec.get("components", {}).get("schemas", {}).items()):
        required = set(schema.get("required", []))
        props = [
            {
                "name": prop,
                "type": ref_name(node) if "$ref" in node or node.get("type") else _any_of(node),
                "required": prop in required,
                "description": node.get("description", ""),
                "enum": node.get("enum") or (node.get("items") or {}).get("enum"),
            }
            for prop, node in schema.get("properties", {}).items()
        ]
        result.append({"name": name, "props": props})
    return result


def _any_of(node: dict) -> str:
    options = node.get("anyOf") or node.get("oneOf") or node.get("allOf") or []
    return " | ".join(ref_name(option) for option in options) or "any"
