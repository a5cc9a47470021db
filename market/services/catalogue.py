"""The demo catalogue's paper records made presentable: which are technology outcomes at all,
what each one is called, and which demo organisation plausibly holds it.

The paper corpus (CSL journal abstracts) mixes engineering, science, agriculture and medicine
with journal news, history, teaching reform and macro-economics. A listing on a technology
marketplace must be a technology outcome, so :func:`verdict` drops a record when one of the
named rules in :data:`REJECT_RULES` fires; every rule says why, and ``flask --app market seed
catalogue-report`` lists each dropped record with the rule and the words that fired it
(``seed_data/catalogue/REJECTED.md``). Rules of the "may still be technology" kind are
overruled by clear technology work in the same abstract (a method proposed, a device built,
a material prepared, an experiment run).

Most records carry no title (4,208 of 5,677). :func:`title_for` keeps a source title that reads
as one, and otherwise takes the title the abstract itself states: the object and method of
"提出了一种基于…的…方法", "设计了…系统", "对…进行了…分析", "目的 探讨…" and the like, tried in order;
when none applies it names the abstract's most distinctive terms ("…与…研究"). Every candidate
passes :func:`reads_as_title`, so no listing is titled with a sentence fragment. The benchmark
corpora in ``../shared/bench`` are not touched: the benchmarks load their own copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# ---------------------------------------------------------------------------------------------
# Which records are technology outcomes


@dataclass(frozen=True)
class Rule:
    name: str  # shown in the report
    why: str
    pattern: re.Pattern
    overruled_by_technology: bool


def _rule(name: str, why: str, words: str, overruled: bool) -> Rule:
    return Rule(name, why, re.compile(words, re.S | re.M), overruled)


# In order: a record is left out under the first rule that fires (the catch-all comes last).
REJECT_RULES = (
    _rule(
        "期刊消息与致辞",
        "editorial news, greetings and calls for papers are not research outcomes",
        r"本刊讯|［本刊|\[本刊|编辑部|杂志社|致读者|征稿|辞旧迎新|新年献词|创刊\d*周年",
        overruled=False,
    ),
    _rule(
        "会议与学会动态",
        "reports that a meeting was held or a society was formed",
        r"(会议|年会|研讨会|论坛|大会)(在[^。.]{0,24})?(隆重)?(召开|举行|举办)|学会(成立|换届)",
        overruled=False,
    ),
    _rule(
        "人物与纪念",
        "biographies and commemorations",
        r"诞辰|逝世|纪念[^。.]{0,8}(先生|周年)|生平事迹",
        overruled=False,
    ),
    _rule(
        "史学与人文",
        "history, literature, religion and philosophy",
        r"清代|明代|宋代|唐代|汉代|元代|民国时期|清朝|明朝|先秦|秦汉|魏晋|古籍|史料|考证|文学|诗歌|"
        r"诗词|小说|戏曲|书法|宗教|佛教|道教|儒家|哲学|美学|意识形态|马克思主义|历史情境|建筑史",
        overruled=True,
    ),
    _rule(
        "教学与课程改革",
        "teaching methods and curricula are education research, not transferable technology",
        r"教学改革|教学模式|教学方法|教学法|课程建设|课程改革|课程体系|人才培养模式|实践教学|"
        r"双语教学|教学效果",
        overruled=False,
    ),
    _rule(
        "展会与活动通知",
        "exhibition, competition and event notices",
        r"博览会|展览会|展销会|双年展|方案征集|时间[:：][^。]{0,20}地点[:：]",
        overruled=False,
    ),
    _rule(
        "随笔与个人经历",
        "essays and personal recollections",
        r"时光荏苒|逝者如斯|笔者有幸|我谨代表|核心期刊要目",
        overruled=False,
    ),
    _rule(
        "个案病例报告",
        "a single clinical case is an observation, not a transferable technology",
        r"^(患者|患儿)[男女][,，]|[1一]例(报告)?$",
        overruled=False,
    ),
    _rule(
        "宏观经济与政策评论",
        "macro-economics and policy commentary",
        r"宏观经济|经济发展方式|产业结构|产业政策|区域经济|经济增长|对外贸易|产业内贸易|金融危机|"
        r"财政|税收|城镇化|公共政策|十二五|十一五|十三五|会计核算|营销|人事制度|世界银行|地缘政治|"
        r"住房价格|社会主义市场经济|党中央",
        overruled=True,
    ),
    _rule(
        "无研究或技术内容",
        "the abstract states no research work, method, result or product: overviews, popular "
        "articles, monthly climate bulletins, definitions",
        r"\A(?!.*(研究|试验|实验|测定|测试|测量|分析|提出|设计|研制|制备|合成|建立|模型|方法|表明|"
        r"发现|采用|利用|通过|检测|监测|优化|计算|模拟|仿真|开发|构建|探讨|评价|调查|制得|反应|"
        r"得到|选育|育成|审定|培育|处理|防治|诊断|治疗|技术|工艺|系统|装置|观察|考察|证明|给出|"
        r"应用|品种|杂种|新种|变种|精炼|电解|固色|报道|总结))",
        overruled=False,
    ),
)

# Work that makes a record a technology outcome even when a humanities or economics word appears.
TECHNOLOGY_WORK = re.compile(
    r"提出了?(一种|一个|一套)|设计(并实现)?了?(一种|一个|一套)|研制|制备|合成了|实验结果|试验结果|"
    r"仿真|算法|装置|传感|测定了|检测方法|工艺|催化|电路|控制器|材料|品种|选育|育种|防治|栽培|加密|数据安全"
)


@dataclass(frozen=True)
class Verdict:
    keep: bool
    rule: str | None = None
    evidence: str | None = None  # the words that fired the rule


def verdict(text: str, title: str = "") -> Verdict:
    """Whether a paper record (its abstract and any title) is a technology outcome; a dropped
    one names its rule. The rules read the title and the abstract as two lines."""
    record = f"{title}\n{text}" if title else text
    technology = TECHNOLOGY_WORK.search(record)
    for rule in REJECT_RULES:
        found = rule.pattern.search(record)
        if found and not (rule.overruled_by_technology and technology):
            return Verdict(False, rule.name, found.group(0) or "—")
    return Verdict(True)


# ---------------------------------------------------------------------------------------------
# Titles

TITLE_MIN, TITLE_MAX = 6, 40
_CLAUSE = r"[^,，。;；:：!！?？\n]"  # within one clause
# A title never opens like a sentence: with a preposition, a connective or a discourse word
# (a single character only where it does not begin a common noun: 在线, 对称, 以太网, 经济 stay).
_OPENER = re.compile(
    r"^(随着|为了|本文|文中|文章|本研究|通过|由于|根据|近年来|目前|鉴于|针对|利用|采用|我们|"
    r"结果|研究表明|如何|并且|但是|而且|从而|因此|"
    r"对(?!称|流|象|比|偶|接|位|数)|在(?!线|役|轨|体)|为(?!期)|以(?!太)|用(?!户|水|电|地|药)|"
    r"经(?!济|典|验|皮|颅|络|纬|编)|当(?!归|量|前)|将|从|其|此|该|这|并|而|但|且|的|时|后)"
)
_DANGLING_END = tuple("的了和与及并对在为是等而从以将之或及其且中把被使")
_STRAY = re.compile(r"[,，。;；!！?？\n［］【】\[\]]|＞|>|<|＜|=|\d{3,}[^\d]*\d{3,}|进一步")


def reads_as_title(text: str) -> bool:
    """A title names a thing: no clause punctuation, no sentence opener, no dangling ending."""
    if not TITLE_MIN <= len(text) <= TITLE_MAX or _STRAY.search(text):
        return False
    if _OPENER.match(text) or text.endswith(_DANGLING_END) or text[-1] in "+-/·、":
        return False
    if text.count("(") != text.count(")") or text.count("（") != text.count("）"):
        return False
    if text.count("“") != text.count("”") or text.count('"') % 2:
        return False
    return bool(re.search(r"[\u4e00-\u9fff]{2}", text))


_THING = r"(方法|算法|模型|策略|技术|方案|系统|装置|结构|框架|机制|工艺|控制器|平台|电路|仪|设备|体系|材料|传感器|系统设计)"
_PATTERNS: tuple[tuple[str, re.Pattern, str], ...] = tuple(
    (name, re.compile(pattern), template)
    for name, pattern, template in (
        # 基于X(,)提出/设计/建立了一种Y方法 → 基于X的Y方法
        (
            "基于…的…",
            rf"基于(?P<a>{_CLAUSE}{{2,16}}?)[,，]?(提出|设计|建立|构建|实现|开发|研制)(并实现)?了?"
            rf"(一种|一个|一套)?(新的|改进的)?(?P<b>{_CLAUSE}{{2,22}}?{_THING})",
            "基于{a}的{b}",
        ),
        (
            "提出…",
            rf"提出(了)?(一种|一个|一套)(新的|改进的|新型)?(?P<x>{_CLAUSE}{{3,34}}?{_THING})"
            rf"(?={_CLAUSE}{{0,3}}([,，。.;；(（]|$))",
            "{x}",
        ),
        (
            "设计/研制…",
            rf"(设计|研制|开发|构建|研发)(并实现|并制作|出)?了?(一种|一个|一套|一款)(新型)?"
            rf"(?P<x>{_CLAUSE}{{3,34}}?{_THING})",
            "{x}",
        ),
        (
            "建立…",
            rf"建立了?(一种|一个|一套)?(?P<x>{_CLAUSE}{{3,30}}?(模型|方法|体系|数据库|标准曲线|评价指标体系))",
            "{x}",
        ),
        ("制备…", rf"制备(了|出)(?P<x>{_CLAUSE}{{3,24}}?)(?=[,，。.;；(（]|并|$)", "{x}的制备"),
        ("合成…", rf"合成了(?P<x>{_CLAUSE}{{3,24}}?)(?=[,，。.;；(（]|并|$)", "{x}的合成"),
        (
            "…对…的影响",
            rf"(研究|探讨|分析|考察)了?(?P<x>{_CLAUSE}{{2,18}}?)对(?P<y>{_CLAUSE}{{2,18}}?)的(?P<z>影响|作用)",
            "{x}对{y}的{z}",
        ),
        (
            "对…进行…",
            rf"(对|就)(?P<x>{_CLAUSE}{{3,26}}?)进行了?(?P<v>{_CLAUSE}{{2,12}}?"
            r"(研究|分析|试验|实验|模拟|设计|测定|评价|优化|计算|探讨|调查|监测|观测))",
            "{x}{v}",
        ),
        (
            "目的…",
            rf"^目的[:：\s]*(旨在|为了)?(探讨|研究|观察|分析|了解|评价|建立|比较|评估|考察|明确)"
            rf"(?P<x>{_CLAUSE}{{4,30}})(?=[,，。;；]|$)",
            "{x}",
        ),
        (
            "研究/介绍…",
            rf"(?:^|[,，。;；]|本文|文中|文章|该文|首先|重点|主要|详细|简要|系统)(研究|分析|探讨|介绍|阐述|综述|论述|总结)"
            rf"了?(?P<x>{_CLAUSE}{{5,30}}?)(?=[,，。;；]|$)",
            "{x}",
        ),
        ("主题句", rf"^(?P<x>{_CLAUSE}{{3,20}}?)(是|作为)(一种|一个|一类)?", "{x}"),
    )
)
_RESEARCH_WORDS = ("研究", "分析", "设计", "方法", "观察", "影响", "评价", "探讨", "制备", "合成")


def _tidy(title: str) -> str:
    title = title.strip(" \"“”'‘’《》<>「」·-—")
    title = re.sub(r"\s+", " ", title)
    title = re.sub(r"^(一种|一个|一套|了|出|新的|的)+", "", title)
    for opening, closing in (("(", ")"), ("（", "）")):  # a source title cut inside brackets
        if title.count(opening) > title.count(closing):
            title = title[: title.rindex(opening)]
    while title and title[-1] in _DANGLING_END:
        title = title[:-1]
    return title


_FULL_STOP = re.compile(r"(?<!\d)\.|\.(?!\d)")  # CSL writes "." for "。"; 0.5 stays a number


def _from_patterns(text: str) -> tuple[str, str] | None:
    head = _FULL_STOP.sub("。", text[:260])
    for name, pattern, template in _PATTERNS:
        for found in pattern.finditer(head):
            candidate = _tidy(template.format(**found.groupdict()))
            if name in ("目的…", "主题句") and not candidate.endswith(_RESEARCH_WORDS):
                candidate += "研究"
            if reads_as_title(candidate):
                return candidate, name
    return None


@lru_cache(maxsize=1)
def _tagger():
    """A part-of-speech tagger of our own on jieba's default dictionary, so what the search
    code adds to the shared tokenizer never changes a title."""
    import jieba
    import jieba.posseg

    return jieba.posseg.POSTokenizer(jieba.Tokenizer())


_NOUNISH = ("n", "nz", "vn", "nt", "nw", "ns", "eng", "b", "j")
_ACTION = re.compile(r"本文|文章|研究|分析|提出|探讨|介绍|阐述|采用|利用|通过|对|试验|测定")
_BACKGROUND = re.compile(r"^(随着|近年来|目前|当前|众所周知|自古以来)")


def _noun_runs(sentence: str) -> list[str]:
    runs, current = [], []
    for word, flag in _tagger().cut(sentence[:120]):
        if flag.startswith(_NOUNISH):
            current.append(word)
        else:
            runs.append("".join(current))
            current = []
    runs.append("".join(current))
    return sorted((r for r in runs if 5 <= len(r) <= TITLE_MAX - 2), key=len, reverse=True)


# A noun run names the work's object only if it holds enough Chinese to say what it is, and no
# word of a finding, a verb of the study or a reference to the authors slipped into it.
_RUN_NOISE = re.compile(
    r"表明|证明|显示|发现|蕴含|入院|收治|家乡|我院|我国|我们|本文|情况|明显|提高|降低|公司|医院|大学|"
    r"研究所|组织|报告|患者|养殖户|实际|结果|.研究.|.分析."
)
_RUN_LEAD = re.compile(
    r"^(系|研究|探究|测量|观测|采用|利用|试验结果|结果|通过|对|以|分析|研制|制约)+"
)
_RUN_END = ("时", "下", "后", "中", "前", "上", "经", "古")


def _clean_run(run: str) -> str | None:
    run = _RUN_LEAD.sub("", run)
    if _RUN_NOISE.search(run) or run.endswith(_RUN_END):
        return None
    if len(re.findall(r"[\u4e00-\u9fff]", run)) < 4:
        return None
    return run


def _from_noun_run(text: str) -> str | None:
    """The longest run of nouns in the sentence that states the work (or, failing one, the
    first sentence that is not background), as the work's subject."""
    sentences = [s for s in _FULL_STOP.sub("。", text).split("。") if s.strip()][:4]
    working = [s for s in sentences if _ACTION.search(s) and not _BACKGROUND.match(s)]
    rest = [s for s in sentences if not _BACKGROUND.match(s) and s not in working]
    for sentence in working + rest[:1]:
        for run in _noun_runs(sentence):
            cleaned = _clean_run(run)
            if cleaned is None:
                continue
            subject = _tidy(cleaned)
            candidate = subject if subject.endswith(_RESEARCH_WORDS) else subject + "研究"
            if reads_as_title(candidate):
                return candidate
    return None


_GENERIC = frozenset(
    [
        "对照组",
        "治疗组",
        "观察组",
        "实验组",
        "患者",
        "原因",
        "结果",
        "方法",
        "研究",
        "问题",
        "影响",
        "作用",
        "情况",
        "效果",
        "分析",
        "数据",
        "时间",
        "目的",
        "发现",
        "本文",
        "过程",
        "条件",
        "特点",
        "因素",
        "我国",
        "进行",
        "提高",
        "显著",
        "利用",
        "系统",
        "年度",
        "空间",
        "基础",
        "应用",
        "技术",
        "工作",
        "要求",
        "方面",
        "部分",
        "作者",
        "笔者",
    ]
)


def _from_keywords(text: str) -> str:
    """The abstract's most repeated nouns as a title: "X、Y与Z研究"."""
    counts: dict[str, int] = {}
    for word, flag in _tagger().cut(_FULL_STOP.sub("。", text)):
        if (
            flag.startswith(_NOUNISH)
            and len(word) >= 2
            and not word.isdigit()
            and not _OPENER.match(word)
            and word not in _GENERIC
        ):
            counts[word] = counts.get(word, 0) + 1
    words = sorted(counts, key=lambda w: -counts[w])  # the most repeated nouns, first seen first
    words = [w for w in words if w not in _GENERIC][:3] or ["科研成果"]
    title = "与".join(words[:2]) if len(words) <= 2 else f"{words[0]}、{words[1]}与{words[2]}"
    while len(title) + 2 > TITLE_MAX and len(words) > 1:
        words = words[:-1]
        title = "与".join(words)
    return title + "研究"


def title_for(rec: dict) -> tuple[str, str]:
    """The listing title of a paper record, and where it came from ("来源标题", a pattern's
    name, or "关键词")."""
    own = _tidy(rec.get("title") or "")
    if reads_as_title(own):
        return own, "来源标题"
    text = rec["text"].strip().strip('"“”')
    found = _from_patterns(text)
    if found is not None:
        return found
    subject = _from_noun_run(text)
    if subject is not None:
        return subject, "主语名词短语"
    return _from_keywords(text), "关键词"


# ---------------------------------------------------------------------------------------------
# Who holds it

# The demo research organisations and the fields they plausibly work in (the field with the
# most hits, at least two, wins); the rest stay with the multi-discipline academy.
OWNER_FIELDS = (
    (
        "org-i-002",  # 前海医工交叉研究院
        r"患者|临床|病例|医院|治疗|诊断|药物|中药|细胞|基因|蛋白|小鼠|大鼠|肿瘤|疾病|感染|"
        r"医学|血|手术|疫苗|抗体",
    ),
    (
        "org-i-001",  # 横琴先进材料与智能装备研究院
        r"材料|合金|复合|涂层|薄膜|纳米|陶瓷|聚合物|催化|制备|焊接|铸|机床|数控|机器人|加工|"
        r"机械|齿轮|轴承|激光",
    ),
    (
        "org-u-001",  # 珠海滨海理工大学
        r"海洋|海水|港口|船|水产|养殖|渔|湿地|水质|污染|生态|环境|土壤|作物|水稻|小麦|玉米|"
        r"大豆|种植|农|林|气象|降水|暴雨|干旱|气候",
    ),
    (
        "org-u-002",  # 珠江工程技术大学
        r"电力|电网|电压|电机|变电|配电|发电|输电|建筑|结构|混凝土|桥|隧道|道路|交通|车辆|"
        r"算法|网络|通信|信号|图像|计算机|软件|数据|传感|控制|芯片|电路|天线|雷达",
    ),
)
_OWNER_PATTERNS = tuple((key, re.compile(words)) for key, words in OWNER_FIELDS)


def owner_for(text: str, default: str) -> str:
    """The key of the demo organisation that plausibly holds a paper's outcome."""
    best, best_hits = default, 0
    for key, pattern in _OWNER_PATTERNS:
        hits = len(pattern.findall(text))
        if hits > best_hits:
            best, best_hits = key, hits
    return best if best_hits >= 2 else default


# ---------------------------------------------------------------------------------------------
# The report of what the demo catalogue leaves out


def report(records: list[dict]) -> str:
    """Markdown: every paper record left out (rule, the words that fired it, its opening), and
    where the kept records' titles come from. Written to ``seed_data/catalogue/REJECTED.md`` by
    ``flask --app market catalogue-report``; a test keeps the committed file current."""
    dropped: list[tuple[dict, Verdict]] = []
    sources: dict[str, int] = {}
    for rec in records:
        found = verdict(rec["text"], rec.get("title") or "")
        if not found.keep:
            dropped.append((rec, found))
            continue
        source = title_for(rec)[1]
        sources[source] = sources.get(source, 0) + 1
    kept = len(records) - len(dropped)
    by_rule = {rule.name: 0 for rule in REJECT_RULES}
    for _rec, found in dropped:
        by_rule[found.rule] += 1
    lines = [
        "# 演示目录：未收录的论文记录",
        "",
        "Generated by `flask --app market catalogue-report` from `paper_abstracts.jsonl`; do not "
        "edit by hand. The rules are in `market/services/catalogue.py`.",
        "",
        f"{len(records)} records, {kept} kept as 示例 outcomes, {len(dropped)} left out.",
        "",
        "| rule | why | left out |",
        "|---|---|---|",
        *(f"| {r.name} | {r.why} | {by_rule[r.name]} |" for r in REJECT_RULES),
        "",
        "Titles of the kept records, by where they come from:",
        "",
        "| source | records |",
        "|---|---|",
        *(f"| {name} | {count} |" for name, count in sorted(sources.items(), key=lambda x: -x[1])),
        "",
        "## Left out",
        "",
        "| id | rule | words | opening |",
        "|---|---|---|---|",
    ]
    for rec, found in dropped:
        opening = rec["text"][:60].replace("|", "｜").replace("\n", " ")
        lines.append(f"| {rec['_id']} | {found.rule} | {found.evidence} | {opening} |")
    return "\n".join(lines) + "\n"
