"""Parsed TOML to :class:`Protocol`: every field checked, every problem a :class:`ProtocolError`
naming the file, the dotted field and what is wrong."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from scheduler.domain.protocols.model import (
    MAINTENANCE_UNITS,
    Check,
    DoseSpec,
    EvaluationSpec,
    FollowUpSpec,
    Induction,
    Instructions,
    IntegrationSpec,
    MaintenanceSpec,
    PreparationSpec,
    Protocol,
    ProtocolError,
    Stage,
)
from scheduler.domain.vocabulary import CAPABILITIES, ROUTES, STAFF_ROLES, WEEKDAYS


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

    def table(self, key: str, required: bool = False) -> _Table | None:
        value = self.raw(key, required)
        if value is None:
            return None
        return _Table(self.path, self.field(key), value)

    def int_range(self, lo_key: str, hi_key: str, *, lo: int, hi: int) -> tuple[int, int]:
        """Two required integers in ``[lo, hi]``, the first not greater than the second."""
        first = self.int(lo_key, lo=lo, hi=hi)
        second = self.int(hi_key, lo=lo, hi=hi)
        self.min_le_max(lo_key, first, hi_key, second)
        return first, second

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
    min_gap, max_gap = t.int_range("min_gap_days", "max_gap_days", lo=0, hi=366)
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
        lo, hi = t.int_range("min_count", "max_count", lo=0, hi=50)
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
        lo, hi = t.int_range("min_days_after", "max_days_after", lo=0, hi=366)
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
    instructions = Instructions()
    if (t := top.table("instructions")) is not None:
        notes = t.list("notes") or []
        for i, line in enumerate(notes):
            if not isinstance(line, str) or not line.strip():
                raise t.fail(f"notes[{i}]", "wrong type: expected a non-empty string")
        instructions = Instructions(
            fasting_hours=t.int("fasting_hours", lo=0, hi=24, required=False),
            clear_liquids_hours=t.int("clear_liquids_hours", lo=0, hi=24, required=False),
            arrive_early_minutes=t.int("arrive_early_minutes", lo=0, hi=120, required=False, default=15),
            notes=tuple(notes))
        t.done()
    top.done()
    return Protocol(instructions=instructions, key=key, name=name, source=source, description=description, evaluation=evaluation,
                    preparation=preparation, induction=Induction(stages), dose=dose, integration=integration,
                    follow_up=follow_up, maintenance=maintenance, path=path)
