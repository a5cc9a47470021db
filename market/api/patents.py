"""/api/v1/patents — patents on the catalogue (by number or IPC prefix)."""

from __future__ import annotations

from models import NotFound, Patent
from models.enums import N_

from . import lookups
from .common import get_or_404, paginate, resource_blueprint
from .schemas import PatentArgs, PatentOut, PatentPage

blp = resource_blueprint("patents", "/patents", "专利（按专利号或IPC查询）")
HIDDEN = N_("专利不存在或无权查看")


@blp.route("")
@blp.arguments(PatentArgs, location="query")
@blp.response(200, PatentPage)
def list_patents(args: dict):
    """专利列表，可按专利号精确查询或按IPC前缀筛选。"""
    stmt = lookups.patents(number=args["number"], ipc=args["ipc"])
    return paginate(stmt, args["page"], args["per_page"])


@blp.route("/<int:patent_id>")
@blp.response(200, PatentOut)
@blp.alt_response(404, response="NOT_FOUND")
def get_patent(patent_id: int):
    """一项专利。"""
    patent = get_or_404(Patent, patent_id, HIDDEN)
    if patent.outcome is not None and patent.outcome.status != "published":
        raise NotFound(HIDDEN)
    return patent
