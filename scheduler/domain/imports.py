"""CSV imports as plain values: the templates, reading a file, the cells, and the report.

No database here. ``read_table`` turns the bytes of a CSV file into numbered rows keyed by the
template's column names (after the optional column mapping ``{template column: file column}``), or
the file-level problems that refuse the whole file (not UTF-8, no header, a required column
missing). Line numbers count the header as line 1 and follow the physical lines of the file (a
quoted cell spanning two lines makes the next row start two lines further down).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time

PATIENT_COLUMNS = ("mrn", "name", "birth_date", "email", "phone", "ride_home_arranged")
PATIENT_REQUIRED = ("mrn", "name", "birth_date")
SESSION_COLUMNS = (
    "external_id",
    "mrn",
    "clinic",
    "kind",
    "start",
    "end",
    "room",
    "staff",
    "status",
    "protocol",
    "phase",
    "sequence",
)
SESSION_REQUIRED = ("external_id", "mrn", "clinic", "kind", "start", "end", "room")
TEMPLATES = {"patients": (PATIENT_COLUMNS, PATIENT_REQUIRED), "sessions": (SESSION_COLUMNS, SESSION_REQUIRED)}

TRUE_WORDS = ("true", "yes", "1")
FALSE_WORDS = ("false", "no", "0")
ACTIONS = ("create", "update", "unchanged", "refused")


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth knowing) about a line of the file; ``column`` None: the whole line."""

    line: int
    column: str | None
    message: str
    severity: str = "error"  # error refuses the row (and so the file); warning and info are reported
    code: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}, column {self.column}" if self.column else f"line {self.line}"
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        return f"{where}: {prefix}{self.message}"

    def to_dict(self) -> dict:
        out = {
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "message": self.message,
            "text": str(self),
        }
        if self.code:
            out["code"] = self.code
        return out


@dataclass
class RowOutcome:
    line: int
    key: str  # the row's MRN or external_id
    action: str  # one of ACTIONS
    problems: list[Problem] = field(default_factory=list)
    entity_id: int | None = None  # the id written (or that would be, in a dry run)

    def to_dict(self) -> dict:
        return {
            "line": self.line,
            "key": self.key,
            "action": self.action,
            "id": self.entity_id,
            "problems": [p.to_dict() for p in self.problems],
        }


@dataclass
class ImportReport:
    kind: str
    dry_run: bool
    rows: list[RowOutcome] = field(default_factory=list)
    file_problems: list[Problem] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return [*self.file_problems, *(p for r in self.rows for p in r.problems)]

    @property
    def refused(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def written(self) -> bool:
        return not self.dry_run and not self.refused

    def summary(self) -> str:
        counts = ", ".join(f"{a} {self.count(a)}" for a in ACTIONS)
        if self.refused:
            verdict = "refused: nothing was written" if not self.dry_run else "would be refused"
        else:
            verdict = "dry run: nothing was written" if self.dry_run else "imported"
        return f"{self.kind}: {len(self.rows)} rows ({counts}); {verdict}."

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "dry_run": self.dry_run,
            "refused": self.refused,
            "written": self.written,
            "counts": {a: self.count(a) for a in ACTIONS},
            "summary": self.summary(),
            "problems": [p.to_dict() for p in self.problems],
            "rows": [r.to_dict() for r in self.rows],
        }


class CellError(ValueError):
    """A cell that cannot be read; the message says what was expected."""


def template(kind: str) -> str:
    """The header line of a template (what ``scheduler import KIND --template`` prints)."""
    return ",".join(TEMPLATES[kind][0])


def _decode(data: bytes) -> tuple[str | None, Problem | None]:
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, Problem(
            line,
            None,
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be "
            "read); save it as 'CSV UTF-8' and import it again",
            code="encoding",
        )


def read_table(
    data: bytes, kind: str, mapping: dict[str, str] | None = None
) -> tuple[list[tuple[int, dict[str, str]]], list[Problem]]:
    """The file's rows as ``(line, {template column: cell})`` (cells stripped, '' when blank), and
    the file-level problems (errors mean no row can be read)."""
    columns, required = TEMPLATES[kind]
    mapping = dict(mapping or {})
    problems = [
        Problem(
            1,
            ours,
            f"the column mapping names {ours!r}, which is not a column of the {kind} template ({', '.join(columns)})",
            code="mapping",
        )
        for ours in mapping
        if ours not in columns
    ]
    text, bad = _decode(data)
    if bad is not None:
        return [], [*problems, bad]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return [], [*problems, Problem(1, None, f"the header cannot be read as CSV ({exc})", code="csv")]
    if not header or not any(h.strip() for h in header):
        return [], [
            *problems,
            Problem(1, None, f"the file is empty; its first line must be the header {template(kind)}", code="header"),
        ]
    names = [h.strip() for h in header]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name and name in seen:
            problems.append(Problem(1, name, f"the header names {name!r} twice", code="header"))
        seen.setdefault(name, i)
    index: dict[str, int] = {}
    for ours in columns:
        theirs = mapping.get(ours, ours)
        if theirs in seen:
            index[ours] = seen[theirs]
        elif ours in required:
            also = f" (mapped from {theirs!r})" if theirs != ours else ""
            problems.append(
                Problem(
                    1,
                    ours,
                    f"the required column is missing{also}; the header has "
                    f"{', '.join(n for n in names if n) or 'nothing'}",
                    code="missing_column",
                )
            )
    used = set(index.values())
    for i, name in enumerate(names):
        if name and i not in used and name not in mapping.values():
            problems.append(
                Problem(
                    1,
                    name,
                    "the column is not part of the template and is ignored",
                    severity="warning",
                    code="unknown_column",
                )
            )
    if any(p.severity == "error" for p in problems):
        return [], problems
    rows: list[tuple[int, dict[str, str]]] = []
    line = 1
    try:
        for record in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) > len(names):
                problems.append(
                    Problem(start, None, f"the row has {len(record)} cells, the header {len(names)}", code="cells")
                )
                continue
            rows.append((start, {ours: (record[i].strip() if i < len(record) else "") for ours, i in index.items()}))
    except csv.Error as exc:
        problems.append(Problem(line + 1, None, f"the row cannot be read as CSV ({exc})", code="csv"))
    return rows, problems


# --- cells -------------------------------------------------------------------------------------


def boolean(cell: str) -> bool:
    word = cell.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(f"{cell!r} is not a yes/no value (true/false, yes/no, 1/0)")


def day(cell: str) -> date:
    try:
        if len(cell) != 10:
            raise ValueError
        return date.fromisoformat(cell)
    except ValueError:
        raise CellError(f"{cell!r} is not a date YYYY-MM-DD") from None


def local_datetime(cell: str) -> tuple[date, time]:
    """``YYYY-MM-DD HH:MM``, a wall-clock time in the clinic's zone."""
    try:
        if len(cell) != 16 or cell[10] != " ":
            raise ValueError
        moment = datetime.strptime(cell, "%Y-%m-%d %H:%M")
    except ValueError:
        raise CellError(f"{cell!r} is not a local date and time YYYY-MM-DD HH:MM") from None
    return moment.date(), moment.time()


def whole_number(cell: str, *, minimum: int = 1, maximum: int = 32767) -> int:
    try:
        value = int(cell)
    except ValueError:
        raise CellError(f"{cell!r} is not a whole number") from None
    if not minimum <= value <= maximum:
        raise CellError(f"{value} is outside {minimum}–{maximum}")
    return value


def text(cell: str, *, max_length: int) -> str:
    if len(cell) > max_length:
        raise CellError(f"the value is longer than {max_length} characters")
    return cell


def choice(cell: str, choices: tuple[str, ...]) -> str:
    if cell not in choices:
        raise CellError(f"{cell!r} is not one of {', '.join(choices)}")
    return cell


def parse_mapping(pairs: list[str] | dict | None) -> dict[str, str]:
    """``["mrn=Patient ID", "start=Appt Start"]`` (or a dict) as {template column: file column}."""
    if not pairs:
        return {}
    if isinstance(pairs, dict):
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in pairs.items()):
            raise CellError("the column mapping must map column names to column names")
        return {k.strip(): v.strip() for k, v in pairs.items()}
    out: dict[str, str] = {}
    for pair in pairs:
        ours, sep, theirs = pair.partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            raise CellError(f"{pair!r} is not COLUMN=THEIR_COLUMN")
        out[ours.strip()] = theirs.strip()
    return out
