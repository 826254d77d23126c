"""Money, times and the dashboard chart's scales: one format everywhere."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from catalog.templatetags.shop import money, when
from orders.charts import nice_step, sales_chart
from orders.queries import DaySales


def test_prices_are_money_in_the_shops_locale(settings):
    assert money(Decimal("19.9")) == "€19.90"
    assert money(Decimal("1234.5")) == "€1,234.50"
    settings.SHOP_LOCALE = "de_DE"
    assert money(Decimal("1234.5")) == "1.234,50\xa0€"


def test_times_are_shown_in_the_shops_time_zone_and_labelled(settings):
    moment = datetime(2026, 7, 1, 22, 30, tzinfo=UTC)
    assert when(moment) == "1 Jul 2026, 22:30 UTC"
    settings.TIME_ZONE = "Europe/Paris"
    assert when(moment) == "2 Jul 2026, 00:30 CEST"


def test_chart_scales_are_round_and_share_their_gridlines():
    assert [nice_step(value) for value in (0, 3, 39.8, 45, 1000, 1234)] == [1, 1, 10, 20, 250, 500]
    start = date(2026, 11, 1)  # a Sunday
    days = [
        DaySales(start + timedelta(days=n), n % 3, 0, n, Decimal(n * 10), Decimal(n * 10))
        for n in range(30)
    ]
    chart = sales_chart(days, currency="EUR")
    assert [tick.label for tick in chart.revenue_ticks] == ["€0", "€100", "€200", "€300", "€400"]
    assert [tick.label for tick in chart.order_ticks] == ["0", "1", "2", "3", "4"]
    assert [t.position for t in chart.revenue_ticks] == [t.position for t in chart.order_ticks]
    assert [tick.label for tick in chart.day_ticks] == [
        "02 Nov",
        "09 Nov",
        "16 Nov",
        "23 Nov",
        "30 Nov",
    ]
    assert chart.bars[29].label == "Mon 30 Nov: €290.00 revenue, 2 orders"
