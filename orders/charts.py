"""The staff dashboard's sales chart, laid out in Python and drawn as SVG by the template."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from orders.queries import DaySales

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 56, 16, 32  # room for the axis labels


@dataclasses.dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str


@dataclasses.dataclass(frozen=True)
class SalesChart:
    width: int
    height: int
    bars: list[Bar]  # net revenue per day
    orders_line: str  # SVG polyline points: orders placed per day
    max_revenue: Decimal
    max_orders: int
    first_day: str
    last_day: str
    plot_left: int
    plot_right: int
    plot_bottom: int
    plot_top: int


def sales_chart(days: list[DaySales]) -> SalesChart:
    """Revenue as bars on the left scale, orders placed as a line on the right scale."""
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    max_revenue = max((day.net_revenue for day in days), default=Decimal(0))
    max_orders = max((day.orders_placed for day in days), default=0)
    slot = plot_width / max(len(days), 1)
    bars, points = [], []
    for index, day in enumerate(days):
        revenue_share = float(day.net_revenue / max_revenue) if max_revenue else 0.0
        height = revenue_share * plot_height
        x = LEFT + index * slot
        bars.append(
            Bar(
                x=round(x + slot * 0.15, 1),
                y=round(TOP + plot_height - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
                label=f"{day.date:%d %b}: {day.net_revenue} revenue, {day.orders_placed} orders",
            )
        )
        orders_share = day.orders_placed / max_orders if max_orders else 0.0
        points.append(
            f"{round(x + slot / 2, 1)},{round(TOP + plot_height - orders_share * plot_height, 1)}"
        )
    return SalesChart(
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        orders_line=" ".join(points),
        max_revenue=max_revenue,
        max_orders=max_orders,
        first_day=f"{days[0].date:%d %b}" if days else "",
        last_day=f"{days[-1].date:%d %b}" if days else "",
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        plot_bottom=TOP + plot_height,
        plot_top=TOP,
    )
