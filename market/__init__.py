"""SceneBridge 场景桥 — the Flask application factory."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from flask import Flask, request, session
from sqlalchemy import event
from sqlalchemy.engine import Engine

from models.enums import N_

from .config import apply_environment, check_production, check_services, defaults

log = logging.getLogger(__name__)


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(defaults(app.instance_path))
    if test_config is None:
        apply_environment(app.config)
        app.config.from_prefixed_env("MARKET")
    else:
        app.config.from_mapping(test_config)
    _load_learned_weights(app)
    check_production(app.config)
    check_services(app.config)

    from . import urls

    urls.install(app)  # before any route: every <int:...> id is bounded
    _init_extensions(app)
    _register_blueprints(app)

    from . import cli, errors, formatting, i18n

    errors.register(app)
    formatting.register(app)
    i18n.register(app)
    cli.register(app)  # `flask bench …` comes from benchmarks/, through an entry point

    from .tasks import init_celery

    init_celery(app)
    return app


def _load_learned_weights(app: Flask) -> None:
    """Weights saved by `flask matching learn --save` override the defaults."""
    path = Path(app.instance_path) / "match_weights.json"
    if app.config.get("TESTING") or "MATCH_WEIGHTS" in app.config:
        return
    if path.exists():
        app.config["MATCH_WEIGHTS"] = json.loads(path.read_text(encoding="utf-8"))


def _init_extensions(app: Flask) -> None:
    from .extensions import babel, csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = N_("请先登录")
    login_manager.localize_callback = _translate  # flashed in the reader's language
    babel.init_app(app, locale_selector=_select_locale)

    @login_manager.user_loader
    def load_user(user_id: str):
        from .ui.sessions import user_for_session

        return user_for_session(user_id)

    if not app.config.get("TESTING"):

        @app.before_request
        def warm_on_first_request() -> None:
            # Any server (flask run too): the first request starts loading the model and the
            # indexes in the background; gunicorn workers start even earlier (gunicorn.conf.py).
            if "warm-indexes" not in app.extensions:
                from .services.indexing import start_warming

                start_warming(app)

    @app.context_processor
    def inject_globals():
        from flask_babel import get_locale

        locale = str(get_locale())
        chinese = locale == app.config["BABEL_DEFAULT_LOCALE"]
        # The colon after a label: full-width in Chinese, ": " in English.
        return {
            "current_locale": locale,
            "languages": app.config["LANGUAGES"],
            "colon": "：" if chinese else ": ",
        }


def _translate(text: str) -> str:
    from flask_babel import gettext

    return gettext(text)


def _select_locale() -> str:
    from flask import current_app

    wanted = request.args.get("lang") or session.get("lang")
    if wanted in current_app.config["LANGUAGES"]:
        return wanted
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _register_blueprints(app: Flask) -> None:
    from .accounts.routes import bp as accounts_bp
    from .admin.routes import bp as admin_bp
    from .auth.routes import bp as auth_bp
    from .broker.consent import bp as use_first_bp
    from .broker.routes import bp as broker_bp
    from .broker.terms import bp as terms_bp
    from .notices.routes import bp as notices_bp
    from .parties.routes import bp as parties_bp
    from .public.routes import bp as public_bp
    from .workspace.enterprise import bp as enterprise_bp
    from .workspace.institution import bp as institution_bp

    for blueprint in (
        public_bp,
        auth_bp,
        accounts_bp,
        enterprise_bp,
        institution_bp,
        parties_bp,
        broker_bp,
        terms_bp,
        use_first_bp,
        notices_bp,
        admin_bp,
    ):
        app.register_blueprint(blueprint)

    from .api import init_api
    from .security import init_security

    init_api(app)
    init_security(app)  # after every blueprint: it rate-limits auth.login and the API


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection, _record) -> None:
    # SQLite ignores foreign keys unless asked on every connection.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


os.environ.setdefault("HF_HUB_OFFLINE", "1")
