"""Pages for the front desk and clinicians: server-rendered Jinja, no build step.

Sign-in is a session cookie (argon2 password check through ``auth.verify_password``); every POST
carries a per-session CSRF token. Pages ask for a permission of ``auth.PERMISSIONS``, never a role,
and call the services — no rule and no query of their own.
"""

from __future__ import annotations

from flask import Flask

from scheduler.web import filters, security


def init_app(app: Flask) -> None:
    from scheduler.web import account, clinician, frontdesk, oversight, public, signin  # noqa: F401 - routes

    security.init_app(app)
    filters.init_app(app)
    for bp in (signin.bp, frontdesk.bp, clinician.bp, oversight.bp, public.bp):
        app.register_blueprint(bp)
