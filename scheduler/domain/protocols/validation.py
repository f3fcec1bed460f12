"""Parsed TOML to :class:`Protocol`: every field checked, every problem a :class:`ProtocolError`
naming the file, the dotted field and what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scheduler.domain.protocols.model import (
    MAINTENANCE_UNITS,
    STAGE_ANCHORS,
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

    def _integer(self, key: str, lo: int | None, hi: int | None, required: bool) -> int | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"wrong type: expected an integer, got {_type_name(value)}")
        if lo is not None and value < lo:
            raise self.fail(key, f"out of range: {value} is less than {lo}")
        if hi is not None and value > hi:
            raise self.fail(key, f"out of range: {value} is more than {hi}")
        return value

    def integer(self, key: str, *, lo: int | None = 0, hi: int | None = None, default: int | None = None) -> int:
        """A required integer, or ``default`` when the key is missing and a default is given."""
        value = self._integer(key, lo, hi, required=default is None)
        if value is not None:
            return value
        assert default is not None  # without a default a missing key has raised
        return default

    def optional_integer(self, key: str, *, lo: int | None = 0, hi: int | None = None) -> int | None:
        return self._integer(key, lo, hi, required=False)

    def text(
        self, key: str, *, choices: tuple[str, ...] | None = None, default: str | None = None, kind: str = "value"
    ) -> str:
        """A required string, or ``default`` when the key is missing and a default is given."""
        required = default is None
        value = self.raw(key, required)
        if value is None:
            assert default is not None  # without a default a missing key has raised
            return default
        if not isinstance(value, str):
            raise self.fail(key, f"wrong type: expected a string, got {_type_name(value)}")
        if choices is not None and value not in choices:
            raise self.fail(key, f"unknown {kind} {value!r} (expected one of {', '.join(choices)})")
        if choices is None and required and not value.strip():
            raise self.fail(key, "must not be empty")
        return value

    def flag(self, key: str, *, default: bool) -> bool:
        value = self.raw(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"wrong type: expected true or false, got {_type_name(value)}")
        return value

    def array(self, key: str) -> list[Any] | None:
        value = self.raw(key, False)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self.fail(key, f"wrong type: expected an array, got {_type_name(value)}")
        return value

    def table(self, key: str) -> _Table | None:
        value = self.raw(key, False)
        if value is None:
            return None
        return _Table(self.path, self.field(key), value)

    def required_table(self, key: str) -> _Table:
        return _Table(self.path, self.field(key), self.raw(key))

    def int_range(self, lo_key: str, hi_key: str, *, lo: int, hi: int) -> tuple[int, int]:
        """Two required integers in ``[lo, hi]``, the first not greater than the second."""
        first = self.integer(lo_key, lo=lo, hi=hi)
        second = self.integer(hi_key, lo=lo, hi=hi)
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
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "table"}.get(
        type(value), type(value).__name__
    )


def _session(t: _Table) -> dict[str, Any]:
    return {
        "duration_minutes": t.integer("duration_minutes", lo=1, hi=12 * 60),
        "capability": t.text("capability", choices=CAPABILITIES, kind="capability"),
        "role": t.text("role", choices=STAFF_ROLES, kind="role"),
    }


def _dose(t: _Table, *, rems: bool = False) -> DoseSpec:
    common = _session(t)
    route = t.text("route", choices=ROUTES, kind="route")
    ride = t.flag("ride_home_required", default=False)
    observation = t.optional_integer("observation_minutes", lo=0, hi=common["duration_minutes"])
    checks: list[Check] = []
    for i, item in enumerate(t.array("checks") or []):
        c = _Table(t.path, f"{t.field('checks')}[{i}]", item)
        at_end = c.flag("at_end", default=False)
        at = (
            c.integer("at_minutes", hi=common["duration_minutes"], default=0)
            if at_end
            else c.integer("at_minutes", hi=common["duration_minutes"])
        )
        checks.append(Check(name=c.text("name"), at_minutes=at, at_end=at_end))
        c.done()
    t.done()
    return DoseSpec(
        route=route,
        ride_home_required=ride,
        observation_minutes=observation,
        checks=tuple(checks),
        rems=rems or route == "nasal",
        **common,
    )


def _stage(t: _Table, first: bool) -> Stage:
    count = t.integer("count", lo=1, hi=500)
    min_gap, max_gap = t.int_range("min_gap_days", "max_gap_days", lo=0, hi=366)
    tolerance = t.optional_integer("interruption_tolerance_days", lo=max_gap, hi=366)
    anchor = t.text("anchor", choices=STAGE_ANCHORS, default="stage", kind="anchor")
    if anchor == "course":
        if first:
            raise t.fail("anchor", 'the first stage begins the course: anchor = "course" is for a later stage')
        offset = t.integer("offset_days", lo=1, hi=3660)
    else:
        if t.has("offset_days"):
            raise t.fail("offset_days", 'only with anchor = "course"')
        offset = 0
    window = t.integer("window_days", lo=0, hi=3660)
    per_day = t.integer("doses_per_day", lo=1, hi=24, default=1)
    between = t.integer("minutes_between_doses", lo=0, hi=12 * 60, default=0)
    if count % per_day:
        raise t.fail("count", f"out of range: {count} is not a multiple of doses_per_day ({per_day})")
    if per_day == 1 and min_gap == 0:
        raise t.fail(
            "min_gap_days",
            "out of range: 0 is only allowed with doses_per_day > 1 (use doses_per_day for several doses on one day)",
        )
    days = count // per_day
    if days > 1 and window < (days - 1) * min_gap:
        raise t.fail(
            "window_days",
            f"out of range: {days} dose days at least {min_gap} days apart need at least {(days - 1) * min_gap} days",
        )
    per_week_min = t.optional_integer("per_week_min", lo=0, hi=7 * per_day)
    per_week_max = t.optional_integer("per_week_max", lo=1, hi=7 * per_day)
    t.min_le_max("per_week_min", per_week_min, "per_week_max", per_week_max)
    weekdays = None
    raw_days = t.array("weekdays")
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
    name = t.text("name", default="")
    t.done()
    return Stage(
        count=count,
        min_gap_days=min_gap,
        max_gap_days=max_gap,
        window_days=window,
        name=name,
        doses_per_day=per_day,
        minutes_between_doses=between,
        per_week_min=per_week_min,
        per_week_max=per_week_max,
        weekdays=weekdays,
        anchor=anchor,
        offset_days=offset,
        interruption_tolerance_days=tolerance,
    )


def validate(data: dict[str, Any], path: str | Path, key: str | None = None) -> Protocol:
    """Turn parsed TOML into a :class:`Protocol`, or raise :class:`ProtocolError`."""
    path = str(path)
    key = key or Path(path).stem
    top = _Table(path, "", data)
    name = top.text("name")
    source = top.text("source")
    description = top.text("description", default="")
    rems = top.flag("rems", default=False)

    evaluation = None
    if (t := top.table("evaluation")) is not None:
        common = _session(t)
        evaluation = EvaluationSpec(
            valid_days=t.integer("valid_days", lo=1, hi=3660),
            min_days_before_first_dose=t.integer("min_days_before_first_dose", hi=366, default=1),
            **common,
        )
        t.done()

    preparation = None
    if (t := top.table("preparation")) is not None:
        common = _session(t)
        lo, hi = t.int_range("min_count", "max_count", lo=0, hi=50)
        planned = t.integer("planned_count", lo=lo, hi=hi, default=lo)
        gap = t.integer("min_gap_days", lo=0, hi=366, default=1)
        preparation = PreparationSpec(min_count=lo, max_count=hi, planned_count=planned, min_gap_days=gap, **common)
        t.done()

    ind = top.required_table("induction")
    raw_stages = ind.array("stages")
    if raw_stages is None:
        raise ind.fail("stages", "missing")
    if not raw_stages:
        raise ind.fail("stages", "out of range: at least one stage is needed")
    stages = tuple(_stage(_Table(path, f"induction.stages[{i}]", s), i == 0) for i, s in enumerate(raw_stages))
    ind.done()

    dose = _dose(top.required_table("dose"), rems=rems)

    integration = None
    if (t := top.table("integration")) is not None:
        common = _session(t)
        within = t.integer("within_hours", lo=1, hi=24 * 60)
        min_after = t.integer("min_hours_after", lo=0, hi=within, default=0)
        after: list[int] = []
        for i, n in enumerate(t.array("after_doses") or []):
            if isinstance(n, bool) or not isinstance(n, int):
                raise t.fail(f"after_doses[{i}]", f"wrong type: expected an integer, got {_type_name(n)}")
            total = sum(s.count for s in stages)
            if not 1 <= n <= total:
                raise t.fail(f"after_doses[{i}]", f"out of range: dose {n} is not in 1..{total}")
            after.append(n)
        every = t.optional_integer("then_every", lo=1, hi=100)
        if not after and every is None:
            raise t.fail("after_doses", "missing: give after_doses, then_every or both")
        integration = IntegrationSpec(
            within_hours=within,
            min_hours_after=min_after,
            after_doses=tuple(sorted(set(after))),
            then_every=every,
            **common,
        )
        t.done()

    follow_up = None
    if (t := top.table("follow_up")) is not None:
        common = _session(t)
        lo, hi = t.int_range("min_days_after", "max_days_after", lo=0, hi=366)
        follow_up = FollowUpSpec(min_days_after=lo, max_days_after=hi, **common)
        t.done()

    maintenance = None
    if (t := top.table("maintenance")) is not None:
        unit = t.text("unit", choices=MAINTENANCE_UNITS, kind="unit")
        lo = t.integer("min", lo=1, hi=120)
        target = t.integer("target", lo=1, hi=120)
        hi = t.integer("max", lo=1, hi=120)
        t.min_le_max("min", lo, "target", target)
        t.min_le_max("target", target, "max", hi)
        mdose = _dose(m, rems=rems) if (m := t.table("dose")) is not None else dose
        maintenance = MaintenanceSpec(unit=unit, min=lo, target=target, max=hi, dose=mdose)
        t.done()
    instructions = Instructions()
    if (t := top.table("instructions")) is not None:
        notes = t.array("notes") or []
        for i, line in enumerate(notes):
            if not isinstance(line, str) or not line.strip():
                raise t.fail(f"notes[{i}]", "wrong type: expected a non-empty string")
        instructions = Instructions(
            fasting_hours=t.optional_integer("fasting_hours", lo=0, hi=24),
            clear_liquids_hours=t.optional_integer("clear_liquids_hours", lo=0, hi=24),
            arrive_early_minutes=t.integer("arrive_early_minutes", lo=0, hi=120, default=15),
            notes=tuple(notes),
        )
        t.done()
    top.done()
    return Protocol(
        instructions=instructions,
        key=key,
        name=name,
        source=source,
        description=description,
        evaluation=evaluation,
        preparation=preparation,
        induction=Induction(stages),
        dose=dose,
        integration=integration,
        follow_up=follow_up,
        maintenance=maintenance,
        rems=rems or dose.rems,
        path=path,
    )
