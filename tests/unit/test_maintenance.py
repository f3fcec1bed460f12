from datetime import date

import pytest

from scheduler.domain.maintenance import DueWindow, add_interval, dates_nearest_target, due_window
from scheduler.domain.protocols import MaintenanceSpec, load_protocols

PROTOCOLS = load_protocols()
MONTHS = MaintenanceSpec(unit="months", min=2, target=3, max=6, dose=PROTOCOLS["ketamine-iv"].dose)
WEEKS = MaintenanceSpec(unit="weeks", min=1, target=2, max=2, dose=PROTOCOLS["esketamine-trd"].dose)


@pytest.mark.parametrize(
    "last, rule, earliest, target, latest",
    [
        (date(2024, 12, 31), MONTHS, date(2025, 2, 28), date(2025, 3, 31), date(2025, 6, 30)),
        (date(2023, 12, 31), MONTHS, date(2024, 2, 29), date(2024, 3, 31), date(2024, 6, 30)),  # leap
        (date(2024, 1, 31), MONTHS, date(2024, 3, 31), date(2024, 4, 30), date(2024, 7, 31)),
        (date(2024, 2, 29), MONTHS, date(2024, 4, 29), date(2024, 5, 29), date(2024, 8, 29)),
        (date(2023, 11, 30), MONTHS, date(2024, 1, 30), date(2024, 2, 29), date(2024, 5, 30)),
        (date(2024, 8, 31), MONTHS, date(2024, 10, 31), date(2024, 11, 30), date(2025, 2, 28)),
        (date(2024, 12, 30), WEEKS, date(2025, 1, 6), date(2025, 1, 13), date(2025, 1, 13)),
        (date(2024, 2, 26), WEEKS, date(2024, 3, 4), date(2024, 3, 11), date(2024, 3, 11)),
    ],
)
def test_due_window(last, rule, earliest, target, latest):
    assert due_window(last, rule) == DueWindow(earliest, target, latest)


def test_due_window_from_protocol_and_status():
    w = due_window(date(2024, 1, 15), PROTOCOLS["ketamine-iv"])
    assert w.to_dict() == {"earliest": "2024-03-15", "target": "2024-04-15", "latest": "2024-07-15"}
    assert [w.status_on(d) for d in (date(2024, 3, 14), date(2024, 3, 15), date(2024, 7, 15), date(2024, 7, 16))] == [
        "not_due",
        "due",
        "due",
        "overdue",
    ]
    with pytest.raises(ValueError):
        due_window(date(2024, 1, 1), PROTOCOLS["tms-daily"])
    with pytest.raises(ValueError):
        add_interval(date(2024, 1, 1), 1, "years")


def test_dates_nearest_target():
    w = DueWindow(date(2024, 1, 1), date(2024, 1, 3), date(2024, 1, 5))
    assert dates_nearest_target(w) == [date(2024, 1, d) for d in (3, 2, 4, 1, 5)]
