"""Public pages: home with the 三张清单, listing search and detail pages."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from models import Demand, Outcome, db
from models.enums import COOPERATION_MODES, MATURITY, SCENARIO_TYPES

from ..i18n import label
from ..policy import can, may_view_demand
from ..queries import listings as q
from ..redirects import same_origin_referrer
from ..services import cases
from ..ui.demand_page import render_demand
from ..urls import page_number

bp = Blueprint("public", __name__)


@bp.route("/")
def home():
    from ..health import backlog
    from ..services.indexing import catch_up_eta
    from ..services.indexing import status as index_status

    latest_cases = cases.published_cases(1, 6)
    return render_template(
        "public/home.html",
        index=index_status(),
        eta=catch_up_eta(),
        backlog=backlog(),
        case_count=latest_cases.total,
        latest_cases=latest_cases.items,
        **q.home_lists(),
    )


@bp.route("/demands")
def demands():
    flt = q.ListingFilter.from_args(request.args, current_app.config["PAGE_SIZE"])
    page = q.public_demands(flt, current_user)
    return render_template(
        "public/demands.html",
        page=page,
        flt=flt,
        fields=q.demand_fields(),
        regions=q.regions(),
        maturity=MATURITY,
        scenario_types=SCENARIO_TYPES,
    )


@bp.route("/demands/<int:demand_id>")
def demand(demand_id: int):
    item = db.get_or_404(Demand, demand_id)
    if not may_view_demand(current_user, item):
        abort(404)
    return render_demand(item)


@bp.route("/outcomes")
def outcomes():
    flt = q.ListingFilter.from_args(request.args, current_app.config["PAGE_SIZE"])
    page = q.public_outcomes(flt)
    return render_template(
        "public/outcomes.html", page=page, flt=flt, regions=q.regions(), maturity=MATURITY
    )


@bp.route("/outcomes/<int:outcome_id>")
def outcome(outcome_id: int):
    item = db.get_or_404(Outcome, outcome_id)
    if item.status != "published" and not can(current_user, "outcome.view_unpublished", item):
        abort(404)
    return render_template("public/outcome.html", item=item, modes=COOPERATION_MODES)


@bp.route("/login")
def login_alias():
    """People type /login: send them to the sign-in page (the target is checked there)."""
    target = request.args.get("next")
    return redirect(url_for("auth.login", next=target) if target else url_for("auth.login"))


@bp.route("/cases", endpoint="cases")
def cases_list():
    """标杆案例清单: published cases only."""
    page = page_number(request.args.get("page"))
    return render_template(
        "public/cases.html", page=cases.published_cases(page, current_app.config["PAGE_SIZE"])
    )


@bp.route("/dashboard")
def dashboard():
    from ..queries.dashboard import summary

    return render_template("public/dashboard.html", data=summary(), charts=CHARTS)


CHARTS = {
    "fields": _l("各领域开放需求"),
    "regions": _l("各地区需求与成果"),
    "maturity": _l("成果成熟度分布"),
    "proposals": _l("推荐按阶段"),
    "deals": _l("交易按阶段"),
    "funnel": _l("转化漏斗"),
}


@bp.route("/dashboard/<name>.svg")
def dashboard_chart(name: str):
    """One chart as an SVG image; its inline styles are allowed for this image response only."""
    from ..queries import dashboard as d
    from . import charts

    title = CHARTS.get(name)
    if title is None:
        abort(404)
    title = str(title)
    if name == "regions":
        svg = charts.grouped(title, d.listings_by_region()[:12], (_("场景需求"), _("科技成果")))
    elif name == "funnel":
        svg = charts.funnel(title, [(label(step), count) for step, count in d.funnel()])
    else:
        rows = {
            "fields": d.demands_by_field,
            "maturity": d.outcomes_by_maturity,
            "proposals": d.proposals_by_stage,
            "deals": d.deals_by_stage,
        }[name]()
        # Vocabulary (maturity, stages) in the reader's language; fields are catalogue data.
        rows = [(label(key), count) for key, count in rows]
        svg = charts.bar(title, rows, horizontal=name != "maturity")
    response = current_app.response_class(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/healthz")
def healthz():
    """The container healthcheck: database, Redis, worker heartbeat and index, each reported;
    503 only when the database is down."""
    from .. import health

    body, status = health.report()
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, status


@bp.route("/lang/<code>")
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(same_origin_referrer() or url_for("public.home"))


@bp.route("/vendor/bootstrap/<path:filename>")
def bootstrap_asset(filename: str):
    """Bootstrap ships inside the bootstrap-wrapper package: served locally, no CDN."""
    import bootstrap_wrapper

    root = Path(bootstrap_wrapper.get_bootstrap_dir())
    return send_from_directory(root, filename, max_age=86400)
