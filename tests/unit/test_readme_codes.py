"""The README's list of codes is the rule book's table: every code, with its one severity."""

import re
from pathlib import Path

from scheduler.domain.rules.codes import CODES

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_lists_every_code_with_its_severity():
    text = README.read_text()
    table = text[text.index("**Every code, one severity**") :]
    table = table[: table.index("\n\n", table.index("| code |"))]
    listed = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) >= 2:
            for code in re.findall(r"`([a-z_]+)`", cells[0]):
                listed[code] = cells[1].split()[0]
    assert listed == {c.name: c.severity for c in CODES.values()}
