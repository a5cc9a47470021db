"""示例 stories for the demo: a signed 先用后转 deal whose 标杆案例 is published, a 到期即转 consent
waiting for the demo TTO, an open 揭榜挂帅 challenge with entries, and a demand that two of the
demo university's outcomes answer together (组合方案) where neither does alone.

Every step goes through the product's own services, acting at dates before the seed day, so the
rules (challenge deadline, 公示 window, patent age under the owner's profile) are checked as they
are for real users. A story is keyed by the ``key`` of its first listing and skipped when that
listing exists, so running the seed twice adds nothing. Flushes, never commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from market.licensing.dates import add_years
from models import BenchmarkCase, Demand, Outcome, User, db, local_today
from models.base import BUSINESS_TZ

from . import cases, challenges, deals, notices, terms, use_first
from .listings import add_patent, check_demand_text, post_demand, post_outcome

log = logging.getLogger(__name__)

DEAL_KEY = "demo-showcase-deal"
CONSENT_KEY = "demo-showcase-use-first"
CHALLENGE_KEY = "demo-showcase-challenge"
BUNDLE_KEY = "demo-showcase-bundle"
DEAL_PROFILE = "zhuhai-2025"  # the licensee is in 珠海; 先用后转 is 珠海 措施7
WAN = 1_000_000  # fen in 1万元

ADMIN, BROKER, ENTERPRISE, TTO = (
    "admin@demo.scenebridge.cn",
    "broker@demo.scenebridge.cn",
    "enterprise@demo.scenebridge.cn",
    "tto@demo.scenebridge.cn",
)
OTHER_INSTITUTIONS = ("tto-zhuhai@demo.scenebridge.cn", "institute@demo.scenebridge.cn")


@dataclass(frozen=True)
class Cast:
    """The demo accounts who act in the stories."""

    admin: User
    broker: User
    enterprise: User
    tto: User
    others: tuple[User, ...]


def cast() -> Cast | None:
    """The demo users (None when the demo accounts were never seeded)."""
    emails = (ADMIN, BROKER, ENTERPRISE, TTO, *OTHER_INSTITUTIONS)
    users = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(emails)))}
    if set(users) != set(emails):
        return None
    others = tuple(users[e] for e in OTHER_INSTITUTIONS)
    return Cast(users[ADMIN], users[BROKER], users[ENTERPRISE], users[TTO], others)


def seed_showcase(today: date | None = None) -> dict[str, int]:
    """Create the stories not yet present; returns how many of each were added."""
    today = today or local_today()
    people = cast()
    if people is None:
        log.warning("showcase skipped: the demo accounts are missing (run the seed first)")
        return dict.fromkeys(STORIES, 0)
    return {
        "showcase_deals": signed_deal_story(people, today),
        "showcase_consents": use_first_story(people, today),
        "showcase_challenges": open_challenge_story(people, today),
        "showcase_bundles": bundle_story(people, today),
    }


STORIES = ("showcase_deals", "showcase_consents", "showcase_challenges", "showcase_bundles")


def _exists(model, key: str) -> bool:
    return db.session.scalar(select(model.id).where(model.key == key)) is not None


def at(today: date, days_ago: int, hour: int = 10) -> datetime:
    """``hour`` o'clock Beijing time, ``days_ago`` days before ``today`` (in UTC)."""
    local = datetime.combine(today - timedelta(days=days_ago), time(hour), tzinfo=BUSINESS_TZ)
    return local.astimezone(UTC)


def _demand(user: User, key: str, data: dict) -> Demand:
    check_demand_text({**data, "status": "published"})
    demand = post_demand(user.organization, data, user.id)
    demand.key, demand.is_demo = key, True
    return demand


def _outcome(user: User, key: str, data: dict) -> Outcome:
    outcome = post_outcome(user.organization, {"status": "published", **data}, user.id)
    outcome.key, outcome.is_demo = key, True
    return outcome


def _patent(outcome: Outcome, user: User, number: str, applied: date, granted: date) -> None:
    """An invention patent, in force, expiring 20 years after application (专利法 第四十二条)."""
    add_patent(
        outcome,
        {
            "number": number,
            "title": outcome.title,
            "kind": "invention",
            "applied_on": applied,
            "granted_on": granted,
            "expires_on": add_years(applied, 20),
            "legal_status": "granted",
        },
        user.id,
    )


# -- 1. a signed 先用后转 deal and its published 标杆案例 --------------------------------------------


def signed_deal_story(people: Cast, today: date) -> int:
    """The enterprise's challenge is won by the TTO's outcome; the broker carries the pairing
    through 先用后转 terms and a 公示 that closed without objection to signing; the admin
    publishes the 标杆案例 the signing drafted."""
    if _exists(Demand, DEAL_KEY):
        return 0
    demand = _demand(people.enterprise, DEAL_KEY, _deal_demand(today))
    outcome = _outcome(people.tto, f"{DEAL_KEY}-outcome", DEAL_OUTCOME)
    _patent(outcome, people.tto, "DEMO-ZL2022-0001", add_years(today, -4), add_years(today, -2))
    entry = challenges.submit(demand, outcome, people.tto, DEAL_PITCH, now=at(today, 140))
    challenges.shortlist(entry, people.enterprise, "样机数据完整，进入现场测试", now=at(today, 118))
    challenges.pick_winner(
        entry, people.enterprise, "现场测试达到预警提前量要求", now=at(today, 110)
    )
    deal = deals.accept_match(
        entry.match, people.broker, comment="需求方已选定，推进先用后转洽谈", now=at(today, 105)
    )
    terms.draft_for_deal(
        deal, DEAL_PROFILE, "use_first", people.broker, today - timedelta(days=100)
    )
    deals.move_deal(deal, "introduced", people.broker, "双方线上对接", now=at(today, 98))
    deals.move_deal(deal, "negotiating", people.broker, "确认先用后转条款", now=at(today, 90))
    notice = notices.open_notice(deal, None, "negotiated", people.broker, now=at(today, 60))
    notices.close_expired(now=notice.closes_at)
    # Signed well inside the signed stage's SLA (30 days), so the board does not flag it.
    signed_at = max(at(today, 20), notice.closes_at + timedelta(days=1))
    deals.move_deal(deal, "signed", people.broker, "公示期满无异议，签订许可合同", now=signed_at)
    case = db.session.scalar(select(BenchmarkCase).where(BenchmarkCase.deal_id == deal.id))
    cases.publish_case(case, people.admin, now=signed_at + timedelta(days=5))
    return 1


def _deal_demand(today: date) -> dict:
    return {
        "title": "物流无人机动力电池热失控早期预警（揭榜挂帅）",
        "description": (
            "公司在珠海运营物流无人机机队，动力电池在高温高湿和快充条件下存在热失控风险，"
            "现有电池管理系统只在温度骤升后告警，留给返航和迫降的时间不足。希望引入能在热失控"
            "发生前预警的技术：融合电压、温度和气体信号判断电芯早期异常，可嵌入现有电池包。"
        ),
        "field": "低空经济",
        "scenario_type": "industry",
        "indicators": [
            {"name": "预警提前时间", "op": ">=", "value": 10, "unit": "分钟"},
            {"name": "误报率", "op": "<=", "value": 1, "unit": "%"},
        ],
        "offered_resources": "提供试飞场地、20套在役电池包及两年运行数据",
        "budget_min_fen": 50 * WAN,
        "budget_max_fen": 120 * WAN,
        "cooperation_modes": ["use_first", "license"],
        "required_maturity": "pilot",
        "deadline": today + timedelta(days=180),
        "confidentiality": "public",
        "reward_fen": 20 * WAN,
        "challenge_deadline": today - timedelta(days=100),
    }


DEAL_OUTCOME = {
    "title": "锂电池热失控多信号融合早期预警技术",
    "abstract": (
        "融合电芯电压微分、表面温升速率与电池包内特征气体浓度，建立热失控前兆识别模型，"
        "在中试电池包上实现提前12分钟预警，误报率0.6%；预警模块体积小，可嵌入既有电池包。"
    ),
    "team": "示例大学储能安全课题组",
    "field": "低空经济",
    "maturity": "pilot",
    "trl": 6,
    "research_type": "applied",
    "indicators": [
        {"name": "预警提前时间", "op": ">=", "value": 12, "unit": "分钟"},
        {"name": "误报率", "op": "<=", "value": 0.6, "unit": "%"},
    ],
    "fiscal_funded": True,
    "transfer_modes": ["license", "use_first"],
    "asking_price_fen": 80 * WAN,
    "use_first_eligible": True,
    "team_share_pct": 70,
}
DEAL_PITCH = (
    "本成果已在中试电池包上验证提前12分钟预警、误报率0.6%，可按先用后转方式先行试用，"
    "课题组派驻工程师配合嵌入贵司电池包。"
)


# -- 2. a 到期即转 consent waiting for the demo TTO ------------------------------------------------


def use_first_story(people: Cast, today: date) -> int:
    """A fiscal-funded, unimplemented outcome of the TTO's institution whose patent was granted
    six years ago; the admin runs the real sweep, which asks the TTO for consent."""
    if _exists(Outcome, CONSENT_KEY):
        return 0
    outcome = _outcome(people.tto, CONSENT_KEY, CONSENT_OUTCOME)
    granted = add_years(today, -6) - timedelta(days=45)
    _patent(outcome, people.tto, "DEMO-ZL2018-0002", add_years(granted, -2), granted)
    use_first.sweep_use_first(today, actor_id=people.admin.id)
    return 1


CONSENT_OUTCOME = {
    "title": "反渗透膜表面抗污染改性涂层制备方法",
    "abstract": (
        "在反渗透膜表面接枝两性离子聚合物，降低有机物和微生物附着，膜通量衰减速率下降40%，"
        "化学清洗周期由1个月延长至3个月，适用于海水淡化和工业废水回用。"
    ),
    "team": "示例大学膜分离课题组",
    "field": "海洋经济",
    "maturity": "pilot",
    "trl": 5,
    "research_type": "applied",
    "fiscal_funded": True,
    "implemented": False,
    "transfer_modes": ["license", "transfer"],
    "asking_price_fen": 60 * WAN,
}


# -- 3. an open 揭榜挂帅 challenge with entries -------------------------------------------------------


def open_challenge_story(people: Cast, today: date) -> int:
    """The enterprise's challenge is open for 45 more days; three demo institutions have entered
    an outcome each and the enterprise has shortlisted one."""
    if _exists(Demand, CHALLENGE_KEY):
        return 0
    demand = _demand(people.enterprise, CHALLENGE_KEY, _challenge_demand(today))
    entrants = (people.tto, *people.others)
    entries = []
    for number, (user, (outcome_data, pitch, days_ago)) in enumerate(
        zip(entrants, CHALLENGE_ENTRIES, strict=True), start=1
    ):
        outcome = _outcome(user, f"{CHALLENGE_KEY}-{number}", outcome_data)
        entries.append(challenges.submit(demand, outcome, user, pitch, now=at(today, days_ago)))
    challenges.shortlist(
        entries[1], people.enterprise, "识别速度满足机载要求，约请现场演示", now=at(today, 1)
    )
    return 1


def _challenge_demand(today: date) -> dict:
    return {
        "title": "海上风电场无人机巡检图像缺陷实时识别（揭榜挂帅）",
        "description": (
            "公司为珠海海上风电场提供无人机巡检服务，每次巡检拍摄数千张叶片和塔筒图像，目前靠人工"
            "回看，漏检多、出报告慢。征集能在无人机机载端实时识别叶片裂纹、前缘腐蚀和螺栓缺失的"
            "技术，要求在海上强光和盐雾条件下稳定工作。"
        ),
        "field": "低空经济",
        "scenario_type": "industry",
        "indicators": [
            {"name": "缺陷检出率", "op": ">=", "value": 95, "unit": "%"},
            {"name": "单张识别时间", "op": "<=", "value": 200, "unit": "毫秒"},
        ],
        "offered_resources": "提供海上风电场巡检航线、标注过的缺陷图像约8000张",
        "budget_min_fen": 80 * WAN,
        "budget_max_fen": 200 * WAN,
        "cooperation_modes": ["joint_dev", "license"],
        "required_maturity": "pilot",
        "deadline": today + timedelta(days=120),
        "confidentiality": "public",
        "reward_fen": 50 * WAN,
        "challenge_deadline": today + timedelta(days=45),
    }


def _entry_outcome(title: str, abstract: str, team: str, maturity: str, trl: int) -> dict:
    return {
        "title": title,
        "abstract": abstract,
        "team": team,
        "field": "低空经济",
        "maturity": maturity,
        "trl": trl,
        "research_type": "applied",
        "transfer_modes": ["license", "joint_dev"],
        "asking_price_fen": 100 * WAN,
    }


CHALLENGE_ENTRIES = (
    (
        _entry_outcome(
            "风机叶片表面缺陷轻量化图像识别方法",
            "面向风机叶片巡检图像的轻量化卷积网络，识别裂纹、前缘腐蚀和雷击损伤，"
            "在公开叶片数据集上检出率94.8%，模型大小12MB。",
            "示例大学视觉感知课题组",
            "lab",
            4,
        ),
        "模型小、精度高，可在贵司提供的缺陷图像上微调后部署到机载计算单元。",
        6,
    ),
    (
        _entry_outcome(
            "海上目标多光谱图像实时检测系统",
            "可见光与近红外双通道成像结合去雾增强，在强光、盐雾条件下实时检测海上设施缺陷，"
            "单张图像识别160毫秒，已在海上平台完成中试。",
            "示例·珠海滨海理工大学海洋智能装备团队",
            "pilot",
            6,
        ),
        "系统已在海上平台中试，抗强光和盐雾，识别速度满足机载实时要求。",
        4,
    ),
    (
        _entry_outcome(
            "无人机机载边缘计算识别模组",
            "重量180克的机载边缘计算模组，内置缺陷识别加速库，功耗8瓦，"
            "支持在飞行中完成图像识别并回传缺陷位置。",
            "示例·横琴先进材料与智能装备研究院边缘智能组",
            "pilot",
            5,
        ),
        "模组可直接挂载在现有巡检无人机上，与识别算法团队合作可快速集成。",
        3,
    ),
)


# -- 4. a demand two outcomes of one university answer together (组合方案) ---------------------------


def bundle_story(people: Cast, today: date) -> int:
    """The enterprise needs a drone that flies long in strong wind *and* finds blade defects on
    board; the demo university's drone lab has the platform and its vision lab the recognition
    method, each patented. Only listings are made here: whether the matcher proposes both, and
    so the bundle, is decided when the demand is matched (``matching.propose_for_demand``)."""
    if _exists(Demand, BUNDLE_KEY):
        return 0
    _demand(people.enterprise, BUNDLE_KEY, _bundle_demand(today))
    for number, (data, patent) in enumerate(BUNDLE_OUTCOMES, start=1):
        outcome = _outcome(people.tto, f"{BUNDLE_KEY}-{number}", data)
        _patent(outcome, people.tto, patent, add_years(today, -3), add_years(today, -1))
    return 1


def _bundle_demand(today: date) -> dict:
    return {
        "title": "海上风电叶片无人机长航时巡检与机载缺陷识别",
        "description": (
            "公司负责珠海海上风电场的叶片巡检。现有多旋翼无人机续航短、海风稍大就无法起飞，"
            "拍回的照片靠人工回看，叶片前缘腐蚀和裂纹漏检较多，运维船只能反复出海。希望引入"
            "既能在大风中长时间飞行、又能在机上自动识别叶片缺陷的无人机巡检技术。"
        ),
        "field": "低空经济",
        "scenario_type": "infrastructure",
        "indicators": [
            {"name": "续航时间", "op": ">=", "value": 45, "unit": "分钟"},
            {"name": "最大抗风风速", "op": ">=", "value": 15, "unit": "m/s"},
            {"name": "叶片缺陷识别准确率", "op": ">=", "value": 92, "unit": "%"},
        ],
        "offered_resources": "提供海上风电场巡检航线、升压站起降平台和历史巡检图像",
        "budget_min_fen": 100 * WAN,
        "budget_max_fen": 300 * WAN,
        "cooperation_modes": ["license", "use_first"],
        "required_maturity": "pilot",
        "deadline": today + timedelta(days=150),
        "confidentiality": "public",
    }


BUNDLE_OUTCOMES = (
    (
        {
            "title": "长航时抗风型多旋翼巡检无人机平台",
            "abstract": (
                "采用氢燃料电池与锂电池混合动力和抗风姿态控制的六旋翼巡检无人机平台，"
                "满载续航70分钟，可在15米每秒阵风中稳定悬停拍摄，已在海上风电场完成中试。"
            ),
            "team": "示例大学无人系统课题组",
            "field": "低空经济",
            "maturity": "pilot",
            "trl": 6,
            "research_type": "applied",
            "indicators": [
                {"name": "续航时间", "op": ">=", "value": 70, "unit": "分钟"},
                {"name": "最大抗风风速", "op": ">=", "value": 15, "unit": "m/s"},
            ],
            "transfer_modes": ["license", "use_first"],
            "asking_price_fen": 90 * WAN,
            "use_first_eligible": True,
        },
        "DEMO-ZL2023-0003",
    ),
    (
        {
            "title": "风电叶片缺陷机载实时识别方法",
            "abstract": (
                "面向无人机巡检的风电叶片缺陷识别方法，在机载计算单元上实时识别前缘腐蚀、裂纹和"
                "雷击损伤，在海上风电场实拍叶片图像上识别准确率95.2%。"
            ),
            "team": "示例大学视觉感知课题组",
            "field": "低空经济",
            "maturity": "pilot",
            "trl": 5,
            "research_type": "applied",
            "indicators": [{"name": "叶片缺陷识别准确率", "op": ">=", "value": 95.2, "unit": "%"}],
            "transfer_modes": ["license", "use_first"],
            "asking_price_fen": 60 * WAN,
            "use_first_eligible": True,
        },
        "DEMO-ZL2023-0004",
    ),
)
