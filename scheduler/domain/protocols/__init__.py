"""Treatment protocols as data: TOML files under ``scheduler/protocols/`` (plus clinic folders).

Nothing about any one protocol lives in Python; this package only knows the schema:

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
per_week_min = 2              # optional guidance, per stage week (7 days from the stage's first dose,
                              # or from its window's opening when anchored to the course)
per_week_max = 3              # optional: enforced when planning
weekdays = ["mon", "tue"]     # optional: dose days allowed
interruption_tolerance_days = 10  # optional (>= max_gap_days, default max_gap_days): a longer gap
                              # interrupts the induction (induction_gap); up to it a gap past
                              # max_gap_days is tolerated (the planner avoids it: guidance)
anchor = "course"             # optional, later stages only: the window counts from the course's first
offset_days = 42              # induction dose, opening offset_days after it and closing window_days
                              # later (a taper week "week 7 of the course"); default "stage": from the
                              # stage's own first dose

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

The package: :mod:`.model` (the values), :mod:`.validation` (:func:`validate`: TOML data to a
:class:`Protocol`), :mod:`.loading` (:func:`load_protocol_file`, :func:`load_protocols`). Import from here.
"""

from scheduler.domain.protocols.loading import SHIPPED_FOLDER, load_protocol_file, load_protocols
from scheduler.domain.protocols.model import (
    MAINTENANCE_UNITS,
    STAGE_ANCHORS,
    Check,
    DoseSpec,
    EvaluationSpec,
    FollowUpSpec,
    Induction,
    IntegrationSpec,
    MaintenanceSpec,
    PreparationSpec,
    Protocol,
    ProtocolError,
    SessionSpec,
    Stage,
)
from scheduler.domain.protocols.validation import validate

__all__ = [
    "MAINTENANCE_UNITS",
    "SHIPPED_FOLDER",
    "STAGE_ANCHORS",
    "Check",
    "DoseSpec",
    "EvaluationSpec",
    "FollowUpSpec",
    "Induction",
    "IntegrationSpec",
    "MaintenanceSpec",
    "PreparationSpec",
    "Protocol",
    "ProtocolError",
    "SessionSpec",
    "Stage",
    "load_protocol_file",
    "load_protocols",
    "validate",
]
