"""Every figure of the REMS protocol file names its source on its line (issue 13, item 6)."""

import re
from pathlib import Path

import scheduler

TOML = Path(scheduler.__file__).parent / "protocols" / "esketamine-trd.toml"
TAGS = ("[PI]", "[REMS]", "[CLINIC]")


def test_every_figure_of_the_esketamine_file_cites_its_source():
    lines = [line for line in TOML.read_text().splitlines() if not line.lstrip().startswith("#")]
    figures = [line for line in lines if re.search(r"=\s*\d|at_minutes\s*=|at_end\s*=|^rems\s*=", line)]
    assert len(figures) >= 20
    missing = [line for line in figures if "#" not in line or not any(t in line.split("#", 1)[1] for t in TAGS)]
    assert missing == []
