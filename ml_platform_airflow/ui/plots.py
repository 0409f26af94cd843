"""Server-rendered SVG line charts for the ML view: one value per day per series.

Hand-built SVG (no plotting library, no JavaScript): days on the x axis, a line with points
per series (broken across a day without a value), dashed threshold lines named at their left
end, and each alarm day as a red band behind the lines (``<rect class="alarm" data-day=...>``)
with "alarm" written inside it, below its top, where no threshold label lies, so an alarm reads
at a glance and a test can find it. Each point carries a ``<title>`` with
its exact value (a browser shows it on hover).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 960, 340
LEFT, RIGHT, TOP, BOTTOM = 64, 200, 36, 56
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#393b79",
)
ALARM_FILL = "#d62728"
# Room for one x label ("10-01"): fewer labels on a narrow chart, never overlapping.
X_LABEL_PX = 46


LABEL_FONT = 11
# A white outline under a label keeps it readable over the grid, the bands and the lines.
HALO = ' paint-order="stroke" stroke="#fff" stroke-width="3" stroke-linejoin="round"'


@dataclass(frozen=True)
class Box:
    """Where a one-line label lies: left edge, baseline, width (its height is the font's)."""

    x: float
    baseline: float
    width: float

    def overlaps(self, other: Box) -> bool:
        """Whether the two labels' boxes share any pixel (with a pixel to spare)."""
        return (
            self.x < other.x + other.width + 1
            and other.x < self.x + self.width + 1
            and self.baseline - LABEL_FONT < other.baseline + 1
            and other.baseline - LABEL_FONT < self.baseline + 1
        )


def _text_width(text: str, size: int = LABEL_FONT) -> float:
    """A generous width for ``text`` in a sans-serif font (no font metrics server-side)."""
    return 0.62 * size * len(text)


def _free_box(x: float, baseline: float, text: str, taken: list[Box], bottom: float) -> Box:
    """The first box for ``text`` at ``x``, from ``baseline`` down a line at a time, that
    overlaps none of ``taken`` (the last try above ``bottom`` when every one does)."""
    box = Box(x, baseline, _text_width(text))
    while any(box.overlaps(t) for t in taken) and box.baseline + LABEL_FONT + 3 < bottom:
        box = Box(x, box.baseline + LABEL_FONT + 3, box.width)
    return box


def _threshold_labels(
    limits: Mapping[str, float], y: Callable[[float], float], x: float
) -> list[Box]:
    """A box per threshold label, at the left end of its line: above it, or below it where the
    label of a threshold just above would be hit."""
    boxes: list[Box] = []
    for label, value in limits.items():
        text = f"{label} {_label(value)}"
        above = Box(x, y(value) - 4, _text_width(text))
        below = Box(x, y(value) + LABEL_FONT + 2, above.width)
        boxes.append(above if not any(above.overlaps(b) for b in boxes) else below)
    return boxes


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def _label(value: float) -> str:
    return f"{value:.3g}"


def _runs(days: list[str], axis: list[str]) -> list[list[str]]:
    """``days`` (sorted, all on ``axis``) cut into runs of consecutive days of the axis."""
    runs: list[list[str]] = []
    for day in days:
        if runs and axis.index(day) == axis.index(runs[-1][-1]) + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def _segments(points: list[tuple[str, float]], axis: list[str]) -> list[list[tuple[str, float]]]:
    """``points`` cut where a day of the axis between two of them has no value."""
    segments: list[list[tuple[str, float]]] = []
    previous = None
    for day, value in sorted(points, key=lambda p: axis.index(p[0])):
        index = axis.index(day)
        if previous is None or index != previous + 1:
            segments.append([])
        segments[-1].append((day, value))
        previous = index
    return segments


def empty_chart(title: str, message: str) -> str:
    """A small SVG that says there is nothing to plot yet."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart empty" width="{WIDTH}" height="80"'
        f' viewBox="0 0 {WIDTH} 80" role="img"><title>{escape(title)}</title>'
        f'<text x="{LEFT}" y="28" font-size="15" font-weight="bold">{escape(title)}</text>'
        f'<text x="{LEFT}" y="56" font-size="14" fill="#555">{escape(message)}</text></svg>'
    )


def line_chart(
    series: Mapping[str, Sequence[Sequence[object]]],
    *,
    title: str,
    y_label: str,
    alarm_days: Sequence[str] = (),
    thresholds: Mapping[str, float] | None = None,
    days: Sequence[str] = (),
    empty_message: str = "no data yet",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """SVG of ``{name: [[day, value], ...]}`` with the alarm days marked.

    ``thresholds``: ``{label: value}`` drawn as dashed horizontal lines (e.g. the drift bound).
    ``days``: days the x axis shows even without a value; a series' line breaks across a day
    it has no value for (a missing day is a gap, not a straight line over it). ``width`` and
    ``height`` in pixels, the legend included.
    """
    points = {
        name: [(str(day)[:10], float(value)) for day, value in pts]  # type: ignore[arg-type]
        for name, pts in series.items()
        if pts
    }
    if not points:
        return empty_chart(title, empty_message)
    axis = sorted({d for pts in points.values() for d, _ in pts} | set(alarm_days) | set(days))
    limits = dict(thresholds or {})
    values = [v for pts in points.values() for _, v in pts] + list(limits.values())
    bottom, top = min(0.0, min(values)), max(values)
    # Headroom over the highest value: a threshold there keeps its label inside the plot,
    # clear of the title.
    ticks = _ticks(bottom, top + 0.06 * (top - bottom))
    low, high = ticks[0], ticks[-1]
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    step = plot_w / max(len(axis) - 1, 1)

    def x(day: str) -> float:
        return LEFT + (axis.index(day) * step if len(axis) > 1 else plot_w / 2)

    def y(value: float) -> float:
        return TOP + plot_h - (value - low) / (high - low) * plot_h

    band = max(step, 8.0)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img" font-family="sans-serif">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    for day in alarm_days:
        out.append(
            f'<rect class="alarm" data-day="{escape(day)}" x="{x(day) - band / 2:.1f}" y="{TOP}"'
            f' width="{band:.1f}" height="{plot_h}" fill="{ALARM_FILL}" fill-opacity="0.18">'
            f"<title>alarm on {escape(day)}</title></rect>"
        )
    for tick in ticks:  # horizontal grid and y labels
        out.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"'
            f' stroke="#ddd"/><text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" font-size="12"'
            f' text-anchor="end">{_label(tick)}</text>'
        )
    every = max(1, math.ceil(len(axis) / max(2, int(plot_w // X_LABEL_PX))))
    labelled = list(range(0, len(axis), every))
    if (len(axis) - 1 - labelled[-1]) * step >= X_LABEL_PX:  # the last day, when it fits
        labelled.append(len(axis) - 1)
    for day in (axis[i] for i in labelled):
        out.append(
            f'<text class="x-label" x="{x(day):.1f}" y="{TOP + plot_h + 18}" font-size="12"'
            f' text-anchor="middle">{escape(day[5:] if len(day) == 10 else day)}</text>'
        )
    out.append(
        f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"'
        f' stroke="#333"/><line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}"'
        f' stroke="#333"/>'
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{height - 12}" font-size="13"'
        f' text-anchor="middle">day ({escape(axis[0][:4])}, UTC)</text>'
        f'<text x="16" y="{TOP + plot_h / 2:.1f}" font-size="13" text-anchor="middle"'
        f' transform="rotate(-90 16 {TOP + plot_h / 2:.1f})">{escape(y_label)}</text>'
    )
    labels = _threshold_labels(limits, y, LEFT + 6)
    for (label, value), box in zip(limits.items(), labels, strict=True):
        out.append(
            f'<line class="threshold" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(value):.1f}"'
            f' y2="{y(value):.1f}" stroke="#000" stroke-dasharray="6 4"/>'
            f'<text class="threshold-label" x="{box.x:.1f}" y="{box.baseline:.1f}"'
            f' font-size="{LABEL_FONT}"{HALO}>{escape(label)} {_label(value)}</text>'
        )
    taken = list(labels)
    for run in _runs(sorted(alarm_days), axis):  # one word per run of consecutive alarm days
        middle = (x(run[0]) + x(run[-1])) / 2
        word = _free_box(middle - _text_width("alarm") / 2, TOP + 14, "alarm", taken, TOP + plot_h)
        taken.append(word)
        out.append(
            f'<text class="alarm-label" x="{middle:.1f}" y="{word.baseline:.1f}"'
            f' font-size="{LABEL_FONT}" fill="{ALARM_FILL}" text-anchor="middle"{HALO}>alarm</text>'
        )
    legend_y = TOP
    for i, (name, pts) in enumerate(points.items()):
        color = PALETTE[i % len(PALETTE)]
        for segment in _segments(pts, axis):
            coords = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in segment)
            out.append(
                f'<polyline class="series" data-name="{escape(name)}" points="{coords}"'
                f' fill="none" stroke="{color}" stroke-width="2"/>'
            )
        out.extend(
            f'<circle cx="{x(d):.1f}" cy="{y(v):.1f}" r="3" fill="{color}">'
            f"<title>{escape(name)} {escape(d)}: {v:.4g}</title></circle>"
            for d, v in pts
        )
        out.append(
            f'<rect x="{width - RIGHT + 16}" y="{legend_y + 2}" width="12" height="12"'
            f' fill="{color}"/><text x="{width - RIGHT + 34}" y="{legend_y + 12}"'
            f' font-size="12">{escape(name)}</text>'
        )
        legend_y += 18
    if alarm_days:
        out.append(
            f'<rect x="{width - RIGHT + 16}" y="{legend_y + 2}" width="12" height="12"'
            f' fill="{ALARM_FILL}" fill-opacity="0.35"/><text x="{width - RIGHT + 34}"'
            f' y="{legend_y + 12}" font-size="12">alarm day</text>'
        )
    out.append("</svg>")
    return "".join(out)
