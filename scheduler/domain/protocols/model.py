"""The protocol values (frozen dataclasses) and :class:`ProtocolError`; the TOML schema is in the
package docstring (:mod:`scheduler.domain.protocols`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from scheduler.domain.vocabulary import WEEKDAYS

MAINTENANCE_UNITS = ("months", "weeks")
STAGE_ANCHORS = ("stage", "course")


class ProtocolError(ValueError):
    """A protocol file that cannot be used: names the file, the field (dotted path) and the problem."""

    def __init__(self, path: str, field: str, problem: str):
        self.path = str(path)
        self.field = field
        self.problem = problem
        super().__init__(f"{self.path}: {field}: {problem}" if field else f"{self.path}: {problem}")


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
    """A timed check during a dose (blood pressure): ``at_minutes`` after its start, or at its end
    (``at_end``: discharge)."""

    name: str
    at_minutes: int = 0
    at_end: bool = False

    def at(self, starts_at: datetime, ends_at: datetime) -> datetime:
        return ends_at if self.at_end else starts_at + timedelta(minutes=self.at_minutes)


@dataclass(frozen=True, kw_only=True)
class DoseSpec(SessionSpec):
    route: str
    ride_home_required: bool = False
    observation_minutes: int | None = None
    checks: tuple[Check, ...] = ()
    # Spravato REMS applies (the protocol says ``rems = true`` or the route is nasal): enrollment,
    # certification, a prescriber on site, staggered checks, the monitoring form.
    rems: bool = False


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
    anchor: str = "stage"  # "course": the window counts from the course's first induction dose
    offset_days: int = 0  # anchor "course": the window opens this many days after that dose
    interruption_tolerance_days: int | None = None  # None: max_gap_days

    @property
    def days(self) -> int:
        """Number of dose days in the stage."""
        return self.count // self.doses_per_day

    @property
    def anchored_to_course(self) -> bool:
        return self.anchor == "course"

    @property
    def tolerated_gap_days(self) -> int:
        """The longest gap before the induction counts as interrupted (``induction_gap``); gaps from
        ``max_gap_days`` up to it are tolerated (the planner avoids them: guidance)."""
        if self.interruption_tolerance_days is None:
            return self.max_gap_days
        return self.interruption_tolerance_days


@dataclass(frozen=True)
class Induction:
    stages: tuple[Stage, ...]

    @cached_property
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

    @property
    def anchored(self) -> bool:
        """Whether some stage's window counts from the course's first dose."""
        return any(st.anchored_to_course for st in self.stages)

    def first_sequence(self, index: int) -> int:
        """The sequence number (1-based) of the first dose of stage ``index``."""
        return 1 + sum(st.count for st in self.stages[:index])


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
class Instructions:
    """What reminders tell the patient before a dose (the ride home and the monitoring time come from
    the dose block); ``notes`` are the clinic's own extra lines."""

    fasting_hours: int | None = None
    clear_liquids_hours: int | None = None
    arrive_early_minutes: int = 15
    notes: tuple[str, ...] = ()


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
    instructions: Instructions = Instructions()
    rems: bool = False  # ``rems = true`` in the file: the Spravato REMS applies to its doses
    path: str = ""

    def spec_for(self, kind: str, phase: str | None = None) -> SessionSpec | None:
        """The rules for a session of ``kind`` (the maintenance dose block for a maintenance dose), or
        None when the protocol has no such session."""
        if kind == "dose":
            if phase == "maintenance" and self.maintenance is not None:
                return self.maintenance.dose
            return self.dose
        return {
            "evaluation": self.evaluation,
            "preparation": self.preparation,
            "integration": self.integration,
            "follow_up": self.follow_up,
        }.get(kind)

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
                n for n in range(1, self.induction.total_doses + 1) if self.integration.applies_to(n)
            ]
        return body
