import shutil
from pathlib import Path

import pytest

from scheduler.domain.protocols import SHIPPED_FOLDER, Protocol, ProtocolError, load_protocol_file, load_protocols

KEYS = [
    "esketamine-trd",
    "ketamine-im",
    "ketamine-iv",
    "ketamine-lozenge-kap",
    "tms-accelerated",
    "tms-daily",
    "tms-daily-taper",
]


def test_shipped_protocols_load():
    ps = load_protocols()
    assert sorted(ps) == KEYS
    for key, p in ps.items():
        assert isinstance(p, Protocol) and p.key == key and p.source
        body = p.to_dict()
        assert body["key"] == key and "path" not in body
        assert body["induction"]["total_doses"] == p.induction.total_doses
    for p in ps.values():
        text = Path(p.path).read_text()
        assert "Source" in text or "source" in text


@pytest.mark.parametrize(
    "key, doses, minutes, route, capability, integration_after",
    [
        ("ketamine-iv", 6, 120, "iv", "iv", [1, 2, 3, 4, 5, 6]),
        ("ketamine-im", 6, 90, "im", "im", [1, 2, 3, 4, 5, 6]),
        ("ketamine-lozenge-kap", 6, 180, "lozenge", "lozenge", [1, 2, 4, 6]),
        ("esketamine-trd", 12, 135, "nasal", "nasal", None),
        ("tms-daily", 30, 40, "tms", "tms", None),
        ("tms-accelerated", 50, 10, "tms", "tms", None),
        ("tms-daily-taper", 36, 40, "tms", "tms", None),
    ],
)
def test_protocol_figures(key, doses, minutes, route, capability, integration_after):
    p = load_protocols()[key]
    assert p.induction.total_doses == doses
    assert p.dose.duration_minutes == minutes and p.dose.route == route and p.dose.capability == capability
    if integration_after is None:
        assert p.integration is None
    else:
        assert [n for n in range(1, doses + 1) if p.integration.applies_to(n)] == integration_after
        assert p.to_dict()["integration"]["after_induction_doses"] == integration_after


def test_specific_rules():
    ps = load_protocols()
    iv = ps["ketamine-iv"]
    st = iv.induction.stages[0]
    assert (st.min_gap_days, st.max_gap_days, st.window_days) == (2, 7, 21)
    assert iv.evaluation.valid_days == 30 and iv.integration.within_hours == 72
    assert (iv.follow_up.min_days_after, iv.follow_up.max_days_after) == (7, 14)
    m = iv.maintenance
    assert (m.unit, m.min, m.target, m.max) == ("months", 2, 3, 6) and m.dose == iv.dose
    es = ps["esketamine-trd"]
    assert [s.count for s in es.induction.stages] == [8, 4]
    assert [s.per_week_max for s in es.induction.stages] == [2, 1]
    assert es.maintenance.unit == "weeks" and es.dose.observation_minutes >= 120
    assert [c.at_minutes for c in es.dose.checks[:2]] == [0, 40] and es.dose.checks[2].at_end
    assert es.rems and es.dose.rems and es.maintenance.dose.rems and not ps["ketamine-iv"].rems
    acc = ps["tms-accelerated"].induction.stages[0]
    assert (acc.doses_per_day, acc.minutes_between_doses, acc.days) == (10, 50, 5)
    assert ps["tms-daily"].induction.stages[0].weekdays == (0, 1, 2, 3, 4)
    kap = ps["ketamine-lozenge-kap"]
    assert (kap.preparation.min_count, kap.preparation.max_count) == (1, 3)
    assert kap.dose.role == "therapist"


def _copy(tmp_path, key="ketamine-iv"):
    return (SHIPPED_FOLDER / f"{key}.toml").read_text()


@pytest.mark.parametrize(
    "old, new, field, problem",
    [
        ("min_gap_days = 2", "", "induction.stages[0].min_gap_days", "missing"),
        ("min_gap_days = 2", 'min_gap_days = "two"', "induction.stages[0].min_gap_days", "wrong type"),
        ("min_gap_days = 2", "min_gap_days = 9", "induction.stages[0].min_gap_days", "greater than max_gap_days"),
        ("min_gap_days = 2", "min_gap_days = -1", "induction.stages[0].min_gap_days", "out of range"),
        ("count = 6", "count = 0", "induction.stages[0].count", "out of range"),
        ("window_days = 21", "window_days = 3", "induction.stages[0].window_days", "out of range"),
        ('capability = "iv"', 'capability = "laser"', "dose.capability", "unknown capability"),
        ('role = "nurse"', 'role = "janitor"', "dose.role", "unknown role"),
        ('route = "iv"', 'route = "oral"', "dose.route", "unknown route"),
        ("ride_home_required = true", 'ride_home_required = "yes"', "dose.ride_home_required", "wrong type"),
        ("within_hours = 72", "within_hours = 72\nsurprise = 1", "integration.surprise", "unknown key"),
        ('unit = "months"', 'unit = "years"', "maintenance.unit", "unknown unit"),
        ("target = 3", "target = 9", "maintenance.target", "greater than max"),
        ("valid_days = 30", "valid_days = 30.5", "evaluation.valid_days", "wrong type"),
        ("max_days_after = 14", "max_days_after = 3", "follow_up.min_days_after", "greater than max_days_after"),
        ("then_every = 1", "then_every = 1\nafter_doses = [9]", "integration.after_doses[0]", "out of range"),
        ('name = "Ketamine IV infusion"', "", "name", "missing"),
        ("per_week_max = 3", "per_week_max = 1", "induction.stages[0].per_week_min", "greater than per_week_max"),
        ("[dose]", "[dose]\ncolour = 'red'", "dose.colour", "unknown key"),
    ],
)
def test_validation_errors(tmp_path, old, new, field, problem):
    text = _copy(tmp_path)
    assert old in text
    bad = tmp_path / "ketamine-iv.toml"
    bad.write_text(text.replace(old, new, 1))
    with pytest.raises(ProtocolError) as err:
        load_protocol_file(bad)
    e = err.value
    assert e.path == str(bad) and e.field == field and problem in e.problem
    assert str(bad) in str(e) and field in str(e)


@pytest.mark.parametrize(
    "text, field, problem",
    [
        (
            "name = 'x'\nsource = 's'\n[dose]\nduration_minutes = 10\nroute='iv'\ncapability='iv'\nrole='nurse'",
            "induction",
            "missing",
        ),
        ("name = 'x'\nsource = 's'\ninduction = 3\n", "induction", "must be a table"),
        ("name = 'x'\nsource = 's'\n[induction]\nstages = []\n", "induction.stages", "at least one stage"),
        (
            "name = 'x'\nsource = 's'\n[[induction.stages]]\ncount=5\ndoses_per_day=2\nmin_gap_days=1\nmax_gap_days=1\n"
            "window_days=4\n",
            "induction.stages[0].count",
            "multiple of doses_per_day",
        ),
        (
            "name = 'x'\nsource = 's'\n[[induction.stages]]\ncount=2\nmin_gap_days=1\nmax_gap_days=1\n"
            "window_days=4\nweekdays=['funday']\n",
            "induction.stages[0].weekdays[0]",
            "unknown weekday",
        ),
        ("not toml [", "", "not valid TOML"),
    ],
)
def test_validation_errors_from_scratch(tmp_path, text, field, problem):
    bad = tmp_path / "custom.toml"
    bad.write_text(text)
    with pytest.raises(ProtocolError) as err:
        load_protocol_file(bad)
    assert err.value.field == field and problem in err.value.problem and str(bad) in str(err.value)


def test_clinic_folder_overrides_and_adds(tmp_path):
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "ketamine-iv.toml").write_text(_copy(tmp_path).replace("count = 6", "count = 8"))
    shutil.copy(SHIPPED_FOLDER / "tms-daily.toml", a / "clinic-tms.toml")
    (b / "ketamine-iv.toml").write_text(_copy(tmp_path).replace("count = 6", "count = 4"))
    ps = load_protocols(a)
    assert ps["ketamine-iv"].induction.total_doses == 8 and "clinic-tms" in ps
    assert load_protocols(a, b)["ketamine-iv"].induction.total_doses == 4
    assert load_protocols()["ketamine-iv"].induction.total_doses == 6


def test_broken_clinic_file_is_refused(tmp_path):
    (tmp_path / "mine.toml").write_text(_copy(tmp_path).replace('role = "nurse"', "role = 3"))
    with pytest.raises(ProtocolError, match=r"mine\.toml: dose\.role: wrong type"):
        load_protocols(tmp_path)
    with pytest.raises(ProtocolError, match="does not exist"):
        load_protocols(tmp_path / "nope")
