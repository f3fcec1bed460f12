"""gunicorn settings for production (the README's command):

    SCHEDULER_SECRET_KEY=... .venv/bin/gunicorn -c gunicorn.conf.py

Threaded workers (gthread): a slow client holds one thread, not a whole worker; still run nginx (or
another reverse proxy) in front, which buffers slow uploads and downloads (README: "Behind a
reverse proxy"). Every value can be overridden on the command line or by GUNICORN_* below.
"""
from __future__ import annotations

import multiprocessing
import os

wsgi_app = "scheduler:create_app()"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")  # nginx in front; not exposed directly

worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count(), 8)))
threads = int(os.environ.get("GUNICORN_THREADS", 8))

# Kill a worker whose request runs longer than this (database statements time out well before it);
# let running requests finish this long on a restart; keep idle client connections this long.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
keepalive = 5

# Request-line and header limits: an oversized request line (URL) or header is refused before the
# app reads it (the app itself limits bodies: MAX_CONTENT_LENGTH).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# Which proxies may tell gunicorn the original scheme (X-Forwarded-Proto → https); the client
# address (X-Forwarded-For) is read by the app itself from as many hops as TRUSTED_PROXIES says.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Recycle workers now and then (bounded memory growth), not all at once.
max_requests = 2000
max_requests_jitter = 200

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


def on_starting(server) -> None:
    """Refuse to start at all (one line, exit status 1) without a real SECRET_KEY outside
    development, instead of booting workers that each fail."""
    from scheduler import create_app
    from scheduler.config import require_real_secret_key

    require_real_secret_key(create_app(skip_database=True))
