"""scheduler: treatment-session scheduling for interventional-psychiatry clinics."""

from __future__ import annotations

from flask import Flask


def create_app(test_config: dict | None = None, *, skip_database: bool = False, require_secret: bool = True) -> Flask:
    """Application factory: configuration (defaults → TOML → SCHEDULER_* env → test_config),
    database, error handlers, blueprints and the ``scheduler`` CLI commands.

    An app that will serve (gunicorn's ``scheduler:create_app()``) refuses to be built outside
    development without a real ``SECRET_KEY``; the CLI builds it with ``require_secret=False`` and
    ``scheduler serve`` checks before serving, so ``init-db``, ``demo`` and ``user add`` work in
    any mode."""
    app = Flask(__name__, instance_relative_config=True)

    from scheduler import config

    config.load_config(app, test_config)
    if skip_database:
        return app
    if require_secret:
        config.require_real_secret_key(app)

    from scheduler import auth, cli, db, errors, limits, protocols_registry
    from scheduler.api import init_app as init_api

    db.init_app(app)
    errors.init_app(app)
    limits.init_app(app)
    auth.init_app(app)
    protocols_registry.init_app(app)
    from scheduler.services import outbox

    outbox.init_app(app)
    init_api(app)
    from scheduler.fhir import init_app as init_fhir

    init_fhir(app)
    from scheduler.web import init_app as init_web

    init_web(app)
    cli.init_app(app)
    from scheduler import headers

    headers.init_app(app)
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        # Flask's documented way to add WSGI middleware; its class declares wsgi_app a method
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    return app
