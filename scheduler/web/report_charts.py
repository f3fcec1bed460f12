"""Server-drawn SVG for the Reports page: a utilisation heatmap and labelled bar charts.

Each chart is ``role="img"`` with a title and a description, every mark has a ``<title>``, and the
page shows the same numbers as a table beside it (the chart is never the only way to read them).
"""

from __future__ import annotations

from markupsafe import Markup, escape

HEAT = ("#f1f5f8", "#d6eae6", "#a9d5cc", "#6fb8aa", "#3b968a", "#1f6e68")
BAR_COLOURS = ("#2f8a8f", "#b7863b", "#8a5fb5", "#b3261e")


def _e(value) -> str:
    return str(escape(value))


def _heat(value: float | None) -> str:
    if value is None:
        return "#ffffff"
    return HEAT[min(len(HEAT) - 1, int(value * (len(HEAT) - 1) + 0.5))]


def heatmap(rows: list[dict], *, chart_id: str, title: str) -> Markup:
    """Rooms down, weeks across; each cell's colour is the room's utilisation that week."""
    rooms = list(dict.fromkeys(r["room"] for r in rows))
    weeks = sorted({r["week"] for r in rows})
    if not rooms or not weeks:
        return Markup("")
    cell, left, top = 14, 120, 22
    width, height = left + cell * len(weeks) + 10, top + cell * len(rooms) + 30
    out = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{_e(title)}</title>',
        f'<desc id="{chart_id}-d">Rows are rooms, columns are weeks from {weeks[0]} to {weeks[-1]}; darker means '
        f"a larger share of the open time was used. The table beside the chart has the numbers.</desc>",
    ]
    index = {(r["room"], r["week"]): r for r in rows}
    for i, room in enumerate(rooms):
        y = top + i * cell
        out.append(f'<text x="{left - 6}" y="{y + cell - 3}" text-anchor="end" font-size="11">{_e(room)}</text>')
        for j, week in enumerate(weeks):
            r = index.get((room, week))
            value = r["utilization"] if r else None
            label = f"{room}, week of {week}: " + (f"{value:.0%} used" if value is not None else "closed")
            out.append(
                f'<rect x="{left + j * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}" '
                f'fill="{_heat(value)}" stroke="#dfe5eb"><title>{_e(label)}</title></rect>'
            )
    for j, week in enumerate(weeks):
        if j % 4 == 0:
            out.append(f'<text x="{left + j * cell}" y="{top - 6}" font-size="10">{_e(week[5:])}</text>')
    y = top + cell * len(rooms) + 16
    for k, colour in enumerate(HEAT):
        out.append(f'<rect x="{left + k * 30}" y="{y - 10}" width="28" height="10" fill="{colour}" stroke="#dfe5eb"/>')
    out.append(f'<text x="{left + len(HEAT) * 30 + 6}" y="{y}" font-size="10">0 % → 100 % of open time used</text>')
    out.append("</svg>")
    return Markup("".join(out))


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
    out = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{_e(title)}</title>',
        f'<desc id="{chart_id}-d">{_e(", ".join(series))} for each of {len(items)} groups. The table beside the '
        "chart has the numbers.</desc>",
    ]
    for k, name in enumerate(series):
        out.append(
            f'<rect x="{left + k * 150}" y="4" width="10" height="10" fill="{BAR_COLOURS[k % 4]}"/>'
            f'<text x="{left + k * 150 + 14}" y="13" font-size="11">{_e(name)}</text>'
        )
    for i, (label, values) in enumerate(items):
        y0 = 26 + i * group
        out.append(
            f'<text x="{left - 6}" y="{y0 + bar * len(series) / 2 + 4}" text-anchor="end" '
            f'font-size="11">{_e(label)}</text>'
        )
        for k, (name, value) in enumerate(values):
            shown = "no data" if value is None else (f"{value:.0%}" if percent else f"{value:g}")
            w = 0 if value is None else max(1.0, plot * value / top_value)
            y = y0 + k * bar
            out.append(
                f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar - 2}" fill="{BAR_COLOURS[k % 4]}">'
                f"<title>{_e(f'{label}, {name}: {shown}')}</title></rect>"
                f'<text x="{left + w + 4:.1f}" y="{y + bar - 3}" font-size="10">{_e(shown)}</text>'
            )
    out.append("</svg>")
    return Markup("".join(out))
