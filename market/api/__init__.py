"""REST API /api/v1 (flask-smorest): the OpenAPI document is derived from the schemas.

One module per resource, each with a ``blp`` made by ``common.resource_blueprint``; schemas live
in ``schemas.py``. To add a resource: write the module, add it to ``RESOURCES``.
"""

from __future__ import annotations

import logging

from flask import Flask

from . import (
    access,
    bundles,
    cases,
    challenges,
    deals,
    demands,
    matches,
    me,
    outcomes,
    patents,
    search,
    taxonomies,
    tokens,
)
from .common import Api

log = logging.getLogger(__name__)

RESOURCES = (
    demands,
    outcomes,
    patents,
    taxonomies,
    search,
    me,
    tokens,
    matches,
    deals,
    cases,
    challenges,
    access,
    bundles,
)
DESCRIPTION = (
    "场景桥 SceneBridge 开放接口。读取公开数据无需鉴权；写操作需在请求头携带 "
    "`Authorization: Bearer <API 令牌>`。错误统一为 {code, message, errors: {字段: [说明]}}；"
    "列表统一为 {items, total, page, pages, per_page}。金额单位为分。"
)


def init_api(app: Flask) -> Api:
    from ..extensions import csrf
    from .cli import api_token
    from .docs import bp as docs_bp

    app.config.setdefault("API_TITLE", "SceneBridge 场景桥 API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", _spec_options())
    app.json.ensure_ascii = False  # Chinese messages stay readable in JSON
    api = Api(app)
    for module in RESOURCES:
        api.register_blueprint(module.blp)
        csrf.exempt(module.blp)  # token-authenticated; session writes check CSRF themselves
    app.register_blueprint(docs_bp)
    app.cli.add_command(api_token)
    app.extensions["scenebridge.api"] = [module.blp for module in RESOURCES]
    return api


def _spec_options() -> dict:
    return {
        "info": {"description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "sbt_…"},
                "browserSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "浏览器登录会话（仅令牌管理）；写操作须带 X-CSRFToken 请求头",
                },
            }
        },
        "security": [{}, {"bearerAuth": []}],
    }
