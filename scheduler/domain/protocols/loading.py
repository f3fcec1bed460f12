"""Reading protocol files: the shipped folder ``scheduler/protocols/`` and clinic folders."""

from __future__ import annotations

import tomllib
from pathlib import Path

from scheduler.domain.protocols.model import Protocol, ProtocolError
from scheduler.domain.protocols.validation import validate

SHIPPED_FOLDER = Path(__file__).resolve().parent.parent.parent / "protocols"


def load_protocol_file(path: str | Path) -> Protocol:
    """Read and validate one TOML file; its key is the file stem."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(str(path), "", f"not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ProtocolError(str(path), "", f"cannot be read: {exc.strerror or exc}") from exc
    return validate(data, path, key=path.stem)


def load_protocols(*folders: str | Path, include_shipped: bool = True) -> dict[str, Protocol]:
    """All protocols: the shipped folder first, then each clinic folder in order; a later folder's
    file with the same key (file stem) replaces the earlier one. Sorted by key."""
    found: dict[str, Protocol] = {}
    search = ([SHIPPED_FOLDER] if include_shipped else []) + [Path(f) for f in folders]
    for folder in search:
        if not folder.is_dir():
            raise ProtocolError(str(folder), "", "protocol folder does not exist")
        for path in sorted(folder.glob("*.toml")):
            protocol = load_protocol_file(path)
            found[protocol.key] = protocol
    return dict(sorted(found.items()))
