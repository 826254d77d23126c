"""The staff dashboard's sales chart, laid out in Python and drawn as SVG by the template.

Revenue is drawn as bars against the left scale, orders placed as a line against the right one.
Both scales have the same number of steps, so one set of gridlines serves both. Days are
labelled weekly (each Monday), and every bar has a tooltip (an SVG <title>) with its figures."""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal

from catalog.templatetags.shop import money
from orders.queries import DaySales

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 72, 44, 16, 36  # room for the axis labels
STEPS = 4  # gridlines above the baseline


@dataclasses.dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str


@dataclasses.dataclass(frozen=True)
class Tick:
    position: float  # y for the value scales, x for the days
    label: str


@dataclasses.dataclass(frozen=True)
class SalesChart:
    width: int
    height: int
    bars: list[Bar]
    orders_line: str  # SVG polyline points: orders placed per day
    revenue_ticks: list[Tick]  # left scale, with a gridline each
    order_ticks: list[Tick]  # right scale, at the same heights
    day_ticks: list[Tick]  # Mondays
    plot_left: int
    plot_right: int
    plot_bottom: int
    plot_top: int


def nice_step(largest: float, steps: int = STEPS) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) so that `steps` of it reach `largest`."""
    if largest <= 0:
        return 1
    raw = largest / steps
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        if step >= raw:
            return step
    return 10 * magnitude


def _short_money(value: float, currency: str | None) -> str:
    """Axis labels: whole amounts (€1,500), the bars' tooltips carry the cents."""
    text = money(Decimal(str(value)).quantize(Decimal(1)), currency)
    return text.removesuffix(".00")


def sales_chart(days: list[DaySales], *, currency: str | None = None) -> SalesChart:
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bottom = TOP + plot_height
    revenue_step = nice_step(float(max((day.net_revenue for day in days), default=0)))
    orders_step = max(1, math.ceil(nice_step(max((d.orders_placed for d in days), default=0))))
    revenue_top, orders_top = revenue_step * STEPS, orders_step * STEPS
    slot = plot_width / max(len(days), 1)
    bars, points, day_ticks = [], [], []
    for index, day in enumerate(days):
        height = float(day.net_revenue) / revenue_top * plot_height
        x = LEFT + index * slot
        bars.append(
            Bar(
                x=round(x + slot * 0.15, 1),
                y=round(bottom - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
                label=(
                    f"{day.date:%a %d %b}: {money(day.net_revenue, currency)} revenue, "
                    f"{day.orders_placed} order{'' if day.orders_placed == 1 else 's'}"
                ),
            )
        )
        points.append(
            f"{round(x + slot / 2, 1)},{round(bottom - day.orders_placed / orders_top * plot_height, 1)}"
        )
        if day.date.weekday() == 0:
            day_ticks.append(Tick(round(x + slot / 2, 1), f"{day.date:%d %b}"))
    levels = [round(bottom - step * plot_height / STEPS, 1) for step in range(STEPS + 1)]
    return SalesChart(
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        orders_line=" ".join(points),
        revenue_ticks=[
            Tick(y, _short_money(revenue_step * step, currency)) for step, y in enumerate(levels)
        ],
        order_ticks=[Tick(y, str(orders_step * step)) for step, y in enumerate(levels)],
        day_ticks=day_ticks,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        plot_bottom=bottom,
        plot_top=TOP,
    )
