"""One code, one severity, everywhere (issue 9): flags, plan problems and re-plan problems all take
the severity of the rule book's table."""
from __future__ import annotations

import pytest

from scheduler.domain.planning import Problem
from scheduler.domain.rules import CODES, Flag, severity_of

HARD_RULES = ("integration_missing", "induction_gap", "induction_window_exceeded", "doses_too_close",
              "dose_before_evaluation", "evaluation_expired")


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
    with pytest.raises(ValueError, match="unknown code"):
        Problem("no_such_code", "x")


def test_every_code_has_one_known_severity_and_family():
    for code in CODES.values():
        assert code.severity in ("error", "warning", "info")
        assert code.family in ("spacing", "windows", "resources", "calendar", "patient", "attendance", "plan")
        assert code.meaning.endswith(".")
