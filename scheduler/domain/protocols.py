"""Treatment protocols as data: TOML files under ``scheduler/protocols/`` (plus clinic folders).

Nothing about any one protocol lives in Python; this module only knows the schema:

```toml
name = "…"                    # required
description = "…"             # optional
source = "…"                  # required: where the figures come from

[evaluation]                  # optional: a visit that must precede the first dose
duration_minutes = 60
capability = "consult"        # vocabulary.CAPABILITIES
role = "prescriber"           # vocabulary.STAFF_ROLES
valid_days = 30               # evaluation at most this many calendar days before the first dose
min_days_before_first_dose = 1

[preparation]                 # optional: therapy sessions before the first dose, one per day
min_count = 1
max_count = 3
planned_count = 2             # default min_count
duration_minutes = 60
capability = "therapy"
role = "therapist"
min_gap_days = 1              # calendar days between consecutive preparation sessions / first dose

[[induction.stages]]          # one or more stages, doses numbered 1..N across stages
name = "…"                    # optional
count = 6                     # doses in the stage
min_gap_days = 2              # calendar days between consecutive dose days (also from the previous stage)
max_gap_days = 7
window_days = 21              # the stage's last dose at most this many days after its first
doses_per_day = 1             # several doses on one day (accelerated TMS); count % doses_per_day == 0
minutes_between_doses = 0     # from the end of one dose to the start of the next on one day
per_week_min = 2              # optional guidance, per stage week (7 days from the stage's first dose)
per_week_max = 3              # optional: enforced when planning
weekdays = ["mon", "tue"]     # optional: dose days allowed

[dose]
duration_minutes = 120
route = "iv"                  # vocabulary.ROUTES
capability = "iv"
role = "nurse"
ride_home_required = true
observation_minutes = 80      # optional
checks = [{ name = "blood pressure", at_minutes = 0 }]   # optional

[integration]                 # optional
duration_minutes = 60
capability = "therapy"
role = "therapist"
within_hours = 72             # start within this many real hours after the dose ends
min_hours_after = 0           # not before this many hours after the dose ends
after_doses = [1, 2]          # after these induction doses …
then_every = 2                # … and then after every second dose (omit: only the listed ones)

[follow_up]                   # optional
duration_minutes = 30
capability = "consult"
role = "prescriber"
min_days_after = 7            # calendar days after the last induction dose
max_days_after = 14

[maintenance]                 # optional
unit = "months"               # or "weeks"
min = 2
target = 3
max = 6
# [maintenance.dose]          # optional: a different dose block; default the induction [dose]
```
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from scheduler.domain.vocabulary import CAPABILITIES, ROUTES, STAFF_ROLES, WEEKDAYS

SHIPPED_FOLDER = Path(__file__).resolve().parent.parent / "protocols"
MAINTENANCE_UNITS = ("months", "weeks")


class ProtocolError(ValueError):
    """A protocol file that cannot be used: names the file, the field (dotted path) and the problem."""

    def __init__(self, path: str, field: str, problem: str):
        self.path = str(path)
        self.field = field
        self.problem = problem
        super().__init__(f"{self.path}: {field}: {problem}" if field else f"{self.path}: {problem}")


# ---------------------------------------------------------------- values


@dataclass(frozen=True, kw_only=True)
class SessionSpec:
    duration_minutes: int
    capability: str
    role: str

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)


@dataclass(frozen=True, kw_only=True)
class EvaluationSpec(SessionSpec):
    valid_days: int
    min_days_before_first_dose: int = 1


@dataclass(frozen=True, kw_only=True)
class PreparationSpec(SessionSpec):
    min_count: int
    max_count: int
    planned_count: int
    min_gap_days: int = 1


@dataclass(frozen=True)
class Check:
    name: str
    at_minutes: int


@dataclass(frozen=True, kw_only=True)
class DoseSpec(SessionSpec):
    route: str
    ride_home_required: bool = False
    observation_minutes: int | None = None
    checks: tuple[Check, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Stage:
    count: int
    min_gap_days: int
    max_gap_days: int
    window_days: int
    name: str = ""
    doses_per_day: int = 1
    minutes_between_doses: int = 0
    per_week_min: int | None = None
    per_week_max: int | None = None
    weekdays: tuple[int, ...] | None = None  # 0 = Monday

    @property
    def days(self) -> int:
        """Number of dose days in the stage."""
        return self.count // self.doses_per_day


@dataclass(frozen=True)
class Induction:
    stages: tuple[Stage, ...]

    @property
    def total_doses(self) -> int:
        return sum(s.count for s in self.stages)

    def stage_of(self, sequence: int) -> tuple[int, Stage]:
        """(index, stage) of induction dose ``sequence`` (1-based)."""
        n = 0
        for i, st in enumerate(self.stages):
            n += st.count
            if sequence <= n:
                return i, st
        raise ValueError(f"dose {sequence} is beyond the induction ({self.total_doses} doses)")


@dataclass(frozen=True, kw_only=True)
class IntegrationSpec(SessionSpec):
    within_hours: int
    min_hours_after: int = 0
    after_doses: tuple[int, ...] = ()
    then_every: int | None = None

    def applies_to(self, sequence: int) -> bool:
        """Whether induction dose ``sequence`` is followed by an integration session."""
        if sequence in self.after_doses:
            return True
        if self.then_every is None:
            return False
        base = max(self.after_doses, default=0)
        return sequence > base and (sequence - base) % self.then_every == 0


@dataclass(frozen=True, kw_only=True)
class FollowUpSpec(SessionSpec):
    min_days_after: int
    max_days_after: int


@dataclass(frozen=True, kw_only=True)
class MaintenanceSpec:
    unit: str
    min: int
    target: int
    max: int
    dose: DoseSpec


@dataclass(frozen=True, kw_only=True)
class Protocol:
    key: str
    name: str
    source: str
    induction: Induction
    dose: DoseSpec
    description: str = ""
    evaluation: EvaluationSpec | None = None
    preparation: PreparationSpec | None = None
    integration: IntegrationSpec | None = None
    follow_up: FollowUpSpec | None = None
    maintenance: MaintenanceSpec | None = None
    path: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The rules as JSON-ready data (for ``GET /protocols``)."""
        def spec(obj: Any) -> Any:
            if obj is None:
                return None
            out: dict[str, Any] = {}
            for name in obj.__dataclass_fields__:
                value = getattr(obj, name)
                if name == "weekdays" and value is not None:
                    value = [WEEKDAYS[w] for w in value]
                elif isinstance(value, tuple):
                    value = [spec(v) if hasattr(v, "__dataclass_fields__") else v for v in value]
                elif hasattr(value, "__dataclass_fields__"):
                    value = spec(value)
                out[name] = value
            return out

        body = spec(self)
        body.pop("path", None)
        body["induction"]["total_doses"] = self.induction.total_doses
        if self.integration is not None:
            body["integration"]["after_induction_doses"] = [
                n for n in range(1, self.induction.total_doses + 1) if self.integration.applies_to(n)]
        return body


# ---------------------------------------------------------------- validation


class _Table:
    """Reads one TOML table, recording which keys were used; reports problems as ProtocolError."""

    def __init__(self, path: str, prefix: str, data: Any):
        self.path = path
        self.prefix = prefix
        if not isinstance(data, dict):
            raise ProtocolError(path, prefix, f"must be a table, not {_type_name(data)}")
        self.data = data
        self.used: set[str] = set()

    def field(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def fail(self, key: str, problem: str) -> ProtocolError:
        return ProtocolError(self.path, self.field(key), problem)

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, required: bool = True) -> Any:
        self.used.add(key)
        if key not in self.data:
            if required:
                raise self.fail(key, "missing")
            return None
        return self.data[key]

    def int(self, key: str, *, lo: int | None = 0, hi: int | None = None, required: bool = True,
            default: int | None = None) -> int | None:
        value = self.raw(key, required)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"wrong type: expected an integer, got {_type_name(value)}")
        if lo is not None and value < lo:
            raise self.fail(key, f"out of range: {value} is less than {lo}")
        if hi is not None and value > hi:
            raise self.fail(key, f"out of range: {value} is more than {hi}")
        return value

    def str(self, key: str, *, choices: tuple[str, ...] | None = None, required: bool = True,
            default: str | None = None, kind: str = "value") -> str | None:
        value = self.raw(key, required)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.fail(key, f"wrong type: expected a string, got {_type_name(value)}")
        if choices is not None and value not in choices:
            raise self.fail(key, f"unknown {kind} {value!r} (expected one of {', '.join(choices)})")
        if choices is None and required and not value.strip():
            raise self.fail(key, "must not be empty")
        return value

    def bool(self, key: str, *, default: bool) -> bool:
        value = self.raw(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"wrong type: expected true or false, got {_type_name(value)}")
        return value

    def list(self, key: str) -> list[Any] | None:
        value = self.raw(key, False)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self.fail(key, f"wrong type: expected an array, got {_type_name(value)}")
        return value

    def table(self, key: str, required: bool = False) -> "_Table | None":
        value = self.raw(key, required)
        if value is None:
            return None
        return _Table(self.path, self.field(key), value)

    def min_le_max(self, lo_key: str, lo: int | None, hi_key: str, hi: int | None) -> None:
        if lo is not None and hi is not None and lo > hi:
            raise self.fail(lo_key, f"{lo_key} ({lo}) is greater than {hi_key} ({hi})")

    def done(self) -> None:
        extra = sorted(set(self.data) - self.used)
        if extra:
            raise self.fail(extra[0], "unknown key")


def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array",
            dict: "table"}.get(type(value), type(value).__name__)


def _session(t: _Table) -> dict[str, Any]:
    return {
        "duration_minutes": t.int("duration_minutes", lo=1, hi=12 * 60),
        "capability": t.str("capability", choices=CAPABILITIES, kind="capability"),
        "role": t.str("role", choices=STAFF_ROLES, kind="role"),
    }


def _dose(t: _Table) -> DoseSpec:
    common = _session(t)
    route = t.str("route", choices=ROUTES, kind="route")
    ride = t.bool("ride_home_required", default=False)
    observation = t.int("observation_minutes", lo=0, hi=common["duration_minutes"], required=False)
    checks: list[Check] = []
    for i, item in enumerate(t.list("checks") or []):
        c = _Table(t.path, f"{t.field('checks')}[{i}]", item)
        checks.append(Check(name=c.str("name"), at_minutes=c.int("at_minutes", hi=common["duration_minutes"])))
        c.done()
    t.done()
    return DoseSpec(route=route, ride_home_required=ride, observation_minutes=observation,
                    checks=tuple(checks), **common)


def _stage(t: _Table) -> Stage:
    count = t.int("count", lo=1, hi=500)
    min_gap = t.int("min_gap_days", lo=0, hi=366)
    max_gap = t.int("max_gap_days", lo=0, hi=366)
    t.min_le_max("min_gap_days", min_gap, "max_gap_days", max_gap)
    window = t.int("window_days", lo=0, hi=3660)
    per_day = t.int("doses_per_day", lo=1, hi=24, required=False, default=1)
    between = t.int("minutes_between_doses", lo=0, hi=12 * 60, required=False, default=0)
    if count % per_day:
        raise t.fail("count", f"out of range: {count} is not a multiple of doses_per_day ({per_day})")
    if per_day == 1 and min_gap == 0:
        raise t.fail("min_gap_days", "out of range: 0 is only allowed with doses_per_day > 1 "
                     "(use doses_per_day for several doses on one day)")
    days = count // per_day
    if days > 1 and window < (days - 1) * min_gap:
        raise t.fail("window_days", f"out of range: {days} dose days at least {min_gap} days apart "
                     f"need at least {(days - 1) * min_gap} days")
    per_week_min = t.int("per_week_min", lo=0, hi=7 * per_day, required=False)
    per_week_max = t.int("per_week_max", lo=1, hi=7 * per_day, required=False)
    t.min_le_max("per_week_min", per_week_min, "per_week_max", per_week_max)
    weekdays = None
    raw_days = t.list("weekdays")
    if raw_days is not None:
        if not raw_days:
            raise t.fail("weekdays", "must not be empty")
        idx = []
        for i, w in enumerate(raw_days):
            if not isinstance(w, str):
                raise t.fail(f"weekdays[{i}]", f"wrong type: expected a string, got {_type_name(w)}")
            if w not in WEEKDAYS:
                raise t.fail(f"weekdays[{i}]", f"unknown weekday {w!r} (expected one of {', '.join(WEEKDAYS)})")
            idx.append(WEEKDAYS.index(w))
        weekdays = tuple(sorted(set(idx)))
    name = t.str("name", required=False, default="")
    t.done()
    return Stage(count=count, min_gap_days=min_gap, max_gap_days=max_gap, window_days=window, name=name,
                 doses_per_day=per_day, minutes_between_doses=between, per_week_min=per_week_min,
                 per_week_max=per_week_max, weekdays=weekdays)


def validate(data: dict[str, Any], path: str | Path, key: str | None = None) -> Protocol:
    """Turn parsed TOML into a :class:`Protocol`, or raise :class:`ProtocolError`."""
    path = str(path)
    key = key or Path(path).stem
    top = _Table(path, "", data)
    name = top.str("name")
    source = top.str("source")
    description = top.str("description", required=False, default="")

    evaluation = None
    if (t := top.table("evaluation")) is not None:
        common = _session(t)
        evaluation = EvaluationSpec(valid_days=t.int("valid_days", lo=1, hi=3660),
                                    min_days_before_first_dose=t.int("min_days_before_first_dose", hi=366,
                                                                     required=False, default=1),
                                    **common)
        t.done()

    preparation = None
    if (t := top.table("preparation")) is not None:
        common = _session(t)
        lo = t.int("min_count", lo=0, hi=50)
        hi = t.int("max_count", lo=0, hi=50)
        t.min_le_max("min_count", lo, "max_count", hi)
        planned = t.int("planned_count", lo=lo, hi=hi, required=False, default=lo)
        gap = t.int("min_gap_days", lo=0, hi=366, required=False, default=1)
        preparation = PreparationSpec(min_count=lo, max_count=hi, planned_count=planned, min_gap_days=gap, **common)
        t.done()

    ind = top.table("induction", required=True)
    raw_stages = ind.list("stages")
    if raw_stages is None:
        raise ind.fail("stages", "missing")
    if not raw_stages:
        raise ind.fail("stages", "out of range: at least one stage is needed")
    stages = tuple(_stage(_Table(path, f"induction.stages[{i}]", s)) for i, s in enumerate(raw_stages))
    ind.done()

    dose = _dose(top.table("dose", required=True))

    integration = None
    if (t := top.table("integration")) is not None:
        common = _session(t)
        within = t.int("within_hours", lo=1, hi=24 * 60)
        min_after = t.int("min_hours_after", lo=0, hi=within, required=False, default=0)
        after: list[int] = []
        for i, n in enumerate(t.list("after_doses") or []):
            if isinstance(n, bool) or not isinstance(n, int):
                raise t.fail(f"after_doses[{i}]", f"wrong type: expected an integer, got {_type_name(n)}")
            total = sum(s.count for s in stages)
            if not 1 <= n <= total:
                raise t.fail(f"after_doses[{i}]", f"out of range: dose {n} is not in 1..{total}")
            after.append(n)
        every = t.int("then_every", lo=1, hi=100, required=False)
        if not after and every is None:
            raise t.fail("after_doses", "missing: give after_doses, then_every or both")
        integration = IntegrationSpec(within_hours=within, min_hours_after=min_after,
                                      after_doses=tuple(sorted(set(after))), then_every=every, **common)
        t.done()

    follow_up = None
    if (t := top.table("follow_up")) is not None:
        common = _session(t)
        lo = t.int("min_days_after", lo=0, hi=366)
        hi = t.int("max_days_after", lo=0, hi=366)
        t.min_le_max("min_days_after", lo, "max_days_after", hi)
        follow_up = FollowUpSpec(min_days_after=lo, max_days_after=hi, **common)
        t.done()

    maintenance = None
    if (t := top.table("maintenance")) is not None:
        unit = t.str("unit", choices=MAINTENANCE_UNITS, kind="unit")
        lo = t.int("min", lo=1, hi=120)
        target = t.int("target", lo=1, hi=120)
        hi = t.int("max", lo=1, hi=120)
        t.min_le_max("min", lo, "target", target)
        t.min_le_max("target", target, "max", hi)
        mdose = _dose(m) if (m := t.table("dose")) is not None else dose
        maintenance = MaintenanceSpec(unit=unit, min=lo, target=target, max=hi, dose=mdose)
        t.done()
    top.done()
    return Protocol(key=key, name=name, source=source, description=description, evaluation=evaluation,
                    preparation=preparation, induction=Induction(stages), dose=dose, integration=integration,
                    follow_up=follow_up, maintenance=maintenance, path=path)


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
