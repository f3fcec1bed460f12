"""A real HTTP server for the browser tests: ``python -m tests.browser.server DATABASE_URL PORT``.

(werkzeug's threaded server around ``create_app``; prints ``ready`` once it listens.)
"""

from __future__ import annotations

import sys

from werkzeug.serving import make_server

from scheduler import create_app


def main() -> None:
    url, port = sys.argv[1], int(sys.argv[2])
    app = create_app({"ENV": "development", "DATABASE_URL": url, "SECRET_KEY": "browser-tests"})
    server = make_server("127.0.0.1", port, app, threaded=True)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
