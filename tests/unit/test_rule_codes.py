"""One code, one severity, everywhere (issue 9): flags, plan problems and re-plan problems all take
the severity of the rule book's table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import scheduler
from scheduler.domain.planning import Problem
from scheduler.domain.rules import CODES, Flag, severity_of

HARD_RULES = (
    "integration_missing",
    "induction_gap",
    "induction_window_exceeded",
    "doses_too_close",
    "dose_before_evaluation",
    "evaluation_expired",
)


@pytest.mark.parametrize("code", HARD_RULES)
def test_hard_rule_codes_are_errors_in_flags_and_problems(code):
    assert severity_of(code) == "error"
    assert Flag(code=code, message="x.").severity == "error"
    # whatever the planner passes, a problem carries the code's one severity
    assert Problem(code, "x", (), "warning").severity == "error"
    assert Problem(code, "x").to_dict()["severity"] == "error"


def test_preference_misses_are_info():
    assert severity_of("preference_not_met") == "info"
    assert Problem("preference_not_met", "x", (), "error").severity == "info"


def test_a_flag_cannot_carry_another_severity_than_its_code():
    with pytest.raises(ValueError, match="integration_missing has severity error, not warning"):
        Flag(code="integration_missing", severity="warning", message="x.")
    with pytest.raises(ValueError, match="unknown flag code"):
        Flag(code="no_such_code", message="x.")


def test_every_code_the_planners_raise_is_in_the_table():
    """Problems are built with a literal code (``b.problem("code", ...)``, ``Problem("code", ...)``,
    ``Reason("code", ...)``): each must be in the rule book's table, so it has one severity."""
    root = Path(scheduler.__file__).parent
    pattern = re.compile(r"""(?:\.problem|\bProblem|\bReason)\(\s*["']([a-z_]+)["']""")
    found = {m.group(1) for path in root.rglob("*.py") for m in pattern.finditer(path.read_text())}
    assert "preference_not_met" in found and "integration_missing" in found
    reasons_only = {"unknown_session", "not_a_dose", "not_missed", "dosing_hold", "not_in_protocol", "no_slot"}
    assert found - set(CODES) - reasons_only == set()


def test_every_code_has_one_known_severity_and_family():
    for code in CODES.values():
        assert code.severity in ("error", "warning", "info")
        assert code.family in (
            "spacing",
            "windows",
            "resources",
            "calendar",
            "patient",
            "attendance",
            "payer",
            "rems",
            "tms",
            "plan",
        )
        assert code.meaning.endswith(".")


def test_severities_rank_most_severe_first_and_the_worst_of_none_is_none():
    from scheduler.domain.rules import SEVERITIES, severity_rank, worst_severity

    assert sorted(["info", "error", "warning"], key=severity_rank) == list(SEVERITIES) == ["error", "warning", "info"]
    assert worst_severity(["info", "warning", "info"]) == "warning"
    assert worst_severity(iter(["info", "error"])) == "error"
    assert worst_severity([]) is None
    with pytest.raises(ValueError):
        severity_rank("fatal")
