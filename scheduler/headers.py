"""Security headers on every answer: a Content-Security-Policy without inline script, no framing,
no MIME sniffing, same-origin referrers, ``Cache-Control: no-store`` on pages and on API and FHIR
answers (they carry patient data), and HSTS when cookies are Secure."""

from __future__ import annotations

from flask import Flask, Response, request

# Scripts and style sheets only from our own static files: no inline <script>, no on* handlers,
# no eval. Style *attributes* stay allowed (the day board positions its blocks with them; they
# cannot run code); <style> elements do not.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-elem 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"
# Public answers without patient data that a cache may keep (revalidated by ETag).
CACHEABLE_ENDPOINTS = {"api.health", "api.openapi"}


def _cacheable() -> bool:
    endpoint = request.endpoint or ""
    return endpoint == "static" or endpoint.endswith(".static") or endpoint in CACHEABLE_ENDPOINTS


def init_app(app: Flask) -> None:
    secure = bool(app.config.get("SESSION_COOKIE_SECURE"))

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        headers["X-Frame-Options"] = "DENY"  # frame-ancestors for browsers that predate it
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        if not _cacheable():
            headers["Cache-Control"] = "no-store"
            headers.pop("Expires", None)
        if secure:
            headers["Strict-Transport-Security"] = HSTS
        return response
