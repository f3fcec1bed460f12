"""Server-drawn SVG for the Reports page: a utilisation heatmap and labelled bar charts.

Each chart is ``role="img"`` with a title and a description, every mark has a ``<title>``, and the
page shows the same numbers as a table beside it (the chart is never the only way to read them).
This module computes the geometry (plain numbers, labels, colours); ``web/templates/svg/heatmap.svg``
and ``bars.svg`` draw it (autoescaped).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template
from markupsafe import Markup

HEAT = ("#f1f5f8", "#d6eae6", "#a9d5cc", "#6fb8aa", "#3b968a", "#1f6e68")
BAR_COLOURS = ("#2f8a8f", "#b7863b", "#8a5fb5", "#b3261e")


def _heat(value: float | None) -> str:
    if value is None:
        return "#ffffff"
    return HEAT[min(len(HEAT) - 1, int(value * (len(HEAT) - 1) + 0.5))]


@dataclass(frozen=True)
class Cell:
    x: float
    y: float
    fill: str
    title: str


@dataclass(frozen=True)
class HeatRow:
    label: str
    label_y: float
    cells: list[Cell]


@dataclass(frozen=True)
class Swatch:
    x: float
    fill: str
    label: str = ""


def heatmap(rows: list[dict], *, chart_id: str, title: str) -> Markup:
    """Rooms down, weeks across; each cell's colour is the room's utilisation that week."""
    rooms = list(dict.fromkeys(r["room"] for r in rows))
    weeks = sorted({r["week"] for r in rows})
    if not rooms or not weeks:
        return Markup("")
    cell, left, top = 14, 120, 22
    width, height = left + cell * len(weeks) + 10, top + cell * len(rooms) + 30
    index = {(r["room"], r["week"]): r for r in rows}
    heat_rows = []
    for i, room in enumerate(rooms):
        y = top + i * cell
        cells = []
        for j, week in enumerate(weeks):
            r = index.get((room, week))
            value = r["utilization"] if r else None
            label = f"{room}, week of {week}: " + (f"{value:.0%} used" if value is not None else "closed")
            cells.append(Cell(left + j * cell, y, _heat(value), label))
        heat_rows.append(HeatRow(room, y + cell - 3, cells))
    legend_y = top + cell * len(rooms) + 16
    return Markup(
        render_template(
            "svg/heatmap.svg",
            chart_id=chart_id,
            title=title,
            description=(
                f"Rows are rooms, columns are weeks from {weeks[0]} to {weeks[-1]}; darker means a larger share "
                "of the open time was used. The table beside the chart has the numbers."
            ),
            width=width,
            height=height,
            left=left,
            cell_size=cell - 1,
            rows=heat_rows,
            week_labels=[(left + j * cell, week[5:]) for j, week in enumerate(weeks) if j % 4 == 0],
            week_label_y=top - 6,
            swatches=[Swatch(left + k * 30, colour) for k, colour in enumerate(HEAT)],
            swatch_y=legend_y - 10,
            legend_y=legend_y,
            legend_text_x=left + len(HEAT) * 30 + 6,
        )
    )


@dataclass(frozen=True)
class Bar:
    y: float
    width: float
    fill: str
    title: str
    shown: str  # the value written after the bar
    text_x: float
    text_y: float


@dataclass(frozen=True)
class BarGroup:
    label: str
    label_y: float
    bars: list[Bar]


def bars(
    items: list[tuple[str, list[tuple[str, float | None]]]],
    *,
    chart_id: str,
    title: str,
    maximum: float | None = None,
    percent: bool = True,
) -> Markup:
    """Horizontal bars: ``items`` = [(label, [(series, value), ...])]; values are fractions (0–1)
    when ``percent``, else counts."""
    if not items:
        return Markup("")
    series = list(dict.fromkeys(name for _, values in items for name, _ in values))
    top_value = maximum or max([v for _, values in items for _, v in values if v is not None] + [1])
    bar, gap, left, plot = 12, 10, 170, 360
    group = bar * len(series) + gap
    width, height = left + plot + 70, 26 + group * len(items) + 18
    groups = []
    for i, (label, values) in enumerate(items):
        y0 = 26 + i * group
        drawn = []
        for k, (name, value) in enumerate(values):
            shown = "no data" if value is None else (f"{value:.0%}" if percent else f"{value:g}")
            w = 0 if value is None else max(1.0, plot * value / top_value)
            y = y0 + k * bar
            drawn.append(
                Bar(
                    y,
                    round(w, 1),
                    BAR_COLOURS[k % 4],
                    f"{label}, {name}: {shown}",
                    shown,
                    round(left + w + 4, 1),
                    y + bar - 3,
                )
            )
        groups.append(BarGroup(label, y0 + bar * len(series) / 2 + 4, drawn))
    return Markup(
        render_template(
            "svg/bars.svg",
            chart_id=chart_id,
            title=title,
            description=f"{', '.join(series)} for each of {len(items)} groups. The table beside the chart has the numbers.",
            width=width,
            height=height,
            left=left,
            bar_height=bar - 2,
            legend=[Swatch(left + k * 150, BAR_COLOURS[k % 4], name) for k, name in enumerate(series)],
            groups=groups,
        )
    )
