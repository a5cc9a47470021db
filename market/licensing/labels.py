"""Chinese labels for every term-sheet field, enum value and unit, for the UI and the exports."""

from __future__ import annotations

FIELD_LABELS: dict[str, str] = {
    "base_price": "基准价格（报价/估值）",
    "fee_form": "付费方式",
    "entry_fee": "入门费",
    "free_window_months": "免费使用期",
    "free_window_max_months": "免费使用期上限",
    "free_window_until_first_revenue": "免费期延至首笔销售收入",
    "milestones": "里程碑支付",
    "royalty_base": "提成基数",
    "royalty_rate": "提成比例",
    "annual_minimum": "年度最低提成",
    "annual_cap": "年度提成上限",
    "deferred_schedule": "延期支付计划",
    "conversion_price": "后转价格（转为转让的价格）",
    "conversion_opens_on": "后转选择权起始日",
    "conversion_closes_on": "后转选择权截止日",
    "conversion_credit_paid_fees": "已付许可费抵扣转让价款",
    "exclusivity": "许可方式",
    "territory": "许可地域",
    "start_on": "许可起始日",
    "end_on": "许可截止日",
    "risk_instrument": "履约风险分担方式",
    "risk_coverage": "风险保障金额",
    "risk_provider": "担保/保险机构",
    "exit_free_in_window": "免费期内可无偿退出",
    "termination_notice_days": "解除通知期",
    "cure_days": "违约补救期",
    "team_income_share": "成果完成团队收益分配比例",
    "broker_reward_share": "技术经纪人奖励比例（占服务补助）",
    "notice_required": "协议定价须公示",
    "notice_days": "公示期",
    "pricing_method": "定价方式",
    "equity_value": "作价金额（出资额）",
    "equity_share_bps": "折合持股比例",
    # Derived quantities that rules can bound.
    "milestone_total": "里程碑支付合计",
    "deferred_total": "延期支付合计",
    "fixed_fee_total": "固定费用合计",
    "contract_amount": "合同成交额",
    "term_months": "许可期限",
    "conversion_window_months": "后转选择权期限",
    "instalment_count": "延期支付期数",
    "licensee_is_sme": "被许可方为中小企业",
}

ENUM_LABELS: dict[str, dict[str, str]] = {
    "fee_form": {
        "milestone_royalty": "零门槛费＋里程碑支付＋收入提成",
        "deferred": "延期支付",
        "royalty": "入门费＋收入提成",
        "lump_sum": "一次性支付",
        "equity": "以成果作价出资、取得股权",
    },
    "royalty_base": {"net_sales": "净销售额", "profit": "利润", "none": "不提成"},
    "exclusivity": {"ordinary": "普通许可", "sole": "排他许可", "exclusive": "独占许可"},
    "risk_instrument": {"guarantee": "担保", "insurance": "保险", "none": "无"},
    "pricing_method": {"negotiated": "协议定价", "listed": "挂牌交易", "auction": "拍卖"},
    "milestone_event": {
        "pilot_done": "中试完成",
        "first_unit": "首台（套）产品交付",
        "first_revenue": "取得首笔销售收入",
        "revenue_at_least": "累计销售收入达到约定额",
    },
    "scenario": {"low": "保守情景", "base": "基准情景", "high": "乐观情景"},
}

UNIT_LABELS: dict[str, str] = {
    "fen": "元",
    "bps": "%",
    "bps_of_price": "% （占基准价格）",
    "months": "个月",
    "years": "年",
    "days": "日",
    "count": "期",
    "date": "日期",
    "bool": "是/否",
    "enum": "选项",
    "text": "文本",
}

SOURCE_KIND_LABELS: dict[str, str] = {
    "rule": "政策规则",
    "default": "实践默认值",
    "edit": "人工修改",
    "fact": "成果信息",
    "core": "平台校验",
}
