"""Rating instruments as the timeline draws them: severity bands and the response threshold.

Published cut-offs (Goodman 1989 for Y-BOCS; Kroenke 2001 PHQ-9; Spitzer 2006 GAD-7; Weathers 2013
PCL-5 cut-off 33; Snaith/Müller 2003 MADRS). A response is a fall from baseline of at least
``response_drop`` (Y-BOCS 35%, the usual OCD trial criterion; 50% for the depression and anxiety
scales; PCL-5 10 points, its minimal clinically important change).

No other module defines these yet; they are pure data and belong in ``scheduler.domain`` once an
assessment rule there needs them.
"""
from __future__ import annotations

from dataclasses import dataclass

@dataclass(frozen=True)
class Band:
    low: int
    high: int  # inclusive
    label: str


@dataclass(frozen=True)
class Instrument:
    key: str
    low: int
    high: int
    bands: tuple[Band, ...]
    response_drop: float  # a fraction of baseline (0.35) or, when >= 1, points
    response_label: str

    def response_level(self, baseline: int) -> float:
        """The score at or below which a patient counts as responding."""
        if self.response_drop >= 1:
            return max(self.low, baseline - self.response_drop)
        return baseline * (1 - self.response_drop)


def _bands(*rows: tuple[int, int, str]) -> tuple[Band, ...]:
    return tuple(Band(lo, hi, label) for lo, hi, label in rows)


CATALOGUE: dict[str, Instrument] = {
    "Y-BOCS": Instrument("Y-BOCS", 0, 40, _bands((0, 7, "Subclinical"), (8, 15, "Mild"), (16, 23, "Moderate"),
                                                  (24, 31, "Severe"), (32, 40, "Extreme")),
                         0.35, "Response: 35% below baseline"),
    "PHQ-9": Instrument("PHQ-9", 0, 27, _bands((0, 4, "Minimal"), (5, 9, "Mild"), (10, 14, "Moderate"),
                                                (15, 19, "Moderately severe"), (20, 27, "Severe")),
                        0.5, "Response: 50% below baseline"),
    "GAD-7": Instrument("GAD-7", 0, 21, _bands((0, 4, "Minimal"), (5, 9, "Mild"), (10, 14, "Moderate"),
                                                (15, 21, "Severe")),
                        0.5, "Response: 50% below baseline"),
    "PCL-5": Instrument("PCL-5", 0, 80, _bands((0, 32, "Below cut-off"), (33, 80, "Probable PTSD")),
                        10, "Response: 10 points below baseline"),
    "MADRS": Instrument("MADRS", 0, 60, _bands((0, 6, "Normal"), (7, 19, "Mild"), (20, 34, "Moderate"),
                                                (35, 60, "Severe")),
                        0.5, "Response: 50% below baseline"),
}
