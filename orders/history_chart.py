"""The staff product page's small timeline: stock and price as steps, one step per event."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from readmodels.audit import ProductMoment

WIDTH, HEIGHT = 720, 140
LEFT, RIGHT, TOP, BOTTOM = 48, 64, 10, 10


@dataclasses.dataclass(frozen=True)
class HistoryChart:
    width: int
    height: int
    stock_steps: str  # SVG polyline points
    price_steps: str
    max_stock: int
    max_price: Decimal
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int


def history_chart(timeline: list[ProductMoment]) -> HistoryChart | None:
    """Events are evenly spaced (a busy minute would squash a time axis); each value holds
    until the next event changes it."""
    if not timeline:
        return None
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    max_stock = max(moment.stock for moment in timeline)
    max_price = max(moment.price for moment in timeline)
    step = plot_width / len(timeline)

    def steps(values: list[float], top: float) -> str:
        points = []
        for index, value in enumerate(values):
            y = round(TOP + plot_height - (value / top if top else 0) * plot_height, 1)
            points += [
                f"{round(LEFT + index * step, 1)},{y}",
                f"{round(LEFT + (index + 1) * step, 1)},{y}",
            ]
        return " ".join(points)

    return HistoryChart(
        width=WIDTH,
        height=HEIGHT,
        stock_steps=steps([moment.stock for moment in timeline], max_stock),
        price_steps=steps([float(moment.price) for moment in timeline], float(max_price)),
        max_stock=max_stock,
        max_price=max_price,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        plot_top=TOP,
        plot_bottom=HEIGHT - BOTTOM,
    )
