"""Loads the protocol files once at start-up (shipped ones plus the clinic's PROTOCOLS_DIR).

A broken file stops the app from starting, with the file, the field and the problem.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

SHIPPED_DIR = Path(__file__).resolve().parent / "protocols"


def init_app(app: Flask) -> None:
    from scheduler.domain.protocols import load_protocols

    # The shipped folder is always loaded first; a clinic folder's file with the same key replaces it.
    folders = [Path(app.config["PROTOCOLS_DIR"])] if app.config.get("PROTOCOLS_DIR") else []
    app.extensions["scheduler.protocols"] = load_protocols(*folders)


def protocols() -> dict:
    return current_app.extensions["scheduler.protocols"]
