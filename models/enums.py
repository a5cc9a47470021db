"""Controlled vocabularies shared by models, services and UI.

Codes are stored in English; the Chinese labels are what users see.
"""

from __future__ import annotations

ORG_KINDS = {
    "enterprise": "企业",
    "university": "高校",
    "institute": "科研院所",
    "hospital": "医疗卫生机构",
    "service": "服务机构",
}

ROLES = {
    "enterprise": "企业用户",
    "institution": "高校院所用户",
    "broker": "技术经纪人",
    "admin": "运营管理员",
}

SCENARIO_TYPES = {
    "industry": "产业发展",
    "governance": "城市治理",
    "infrastructure": "基础设施",
    "livelihood": "社会民生",
    "major_project": "重大项目",
}

COOPERATION_MODES = {
    "transfer": "转让",
    "license": "许可",
    "equity": "作价入股",
    "joint_dev": "合作开发",
    "open_license": "开放许可",
    "use_first": "先用后转",
}

# Maturity stages and the TRL range each covers (TRL 1–9).
MATURITY = {
    "lab": "小试",
    "pilot": "中试",
    "industrial": "产业化",
}
MATURITY_TRL = {"lab": (1, 4), "pilot": (5, 6), "industrial": (7, 9)}
MATURITY_ORDER = {"lab": 0, "pilot": 1, "industrial": 2}

# The kind of research an outcome comes from; 到期即转 (珠海 措施8) covers 应用技术类 only.
RESEARCH_TYPES = {
    "basic": "基础研究",
    "applied": "应用技术",
    "other": "其他",
}

CONFIDENTIALITY = {
    "public": "公开",
    "desensitized": "脱敏",
    "broker_only": "仅经纪人可见",
}

LISTING_STATUS = {
    "draft": "草稿",
    "published": "已发布",
    "closed": "已关闭",
}

PATENT_KINDS = {
    "invention": "发明专利",
    "utility": "实用新型",
    "design": "外观设计",
    "software": "软件著作权",
}

PATENT_STATUS = {
    "pending": "审查中",
    "granted": "有效",
    "expired": "已失效",
    "invalidated": "已无效",
}

MATCH_STAGES = {
    "proposed": "系统推荐",
    "accepted": "经纪人已接受",
    "rejected": "经纪人已拒绝",
    "withdrawn": "已撤回",
}

REJECTION_REASONS = {
    "unclear_benefit": "效益不明确",
    "too_early": "技术尚不成熟",
    "price_gap": "价格差距过大",
    "field_mismatch": "领域不匹配",
    "duplicate": "重复推荐",
    "not_genuine": "需求不真实",
    "other": "其他",
}

DEAL_STAGES = {
    "proposed": "推荐",
    "reviewed": "已审核",
    "introduced": "已对接",
    "negotiating": "洽谈中",
    "notice": "公示中",
    "signed": "已签约",
    "registered": "已登记",
    "lost": "已终止",
}

INDICATOR_OPS = {">=": "≥", "<=": "≤", ">": "＞", "<": "＜", "=": "＝", "~": "约"}

# 揭榜挂帅 entries: submitted → shortlisted → winner; the rest become not_selected.
SUBMISSION_STATES = {
    "submitted": "已揭榜",
    "shortlisted": "已入围",
    "winner": "揭榜方",
    "not_selected": "未入选",
    "withdrawn": "已撤回",
}
