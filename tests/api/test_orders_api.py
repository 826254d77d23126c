"""Orders and reports over HTTP."""

import pytest


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "first_day", "days"),
    [
        ("to=0001-01-10", "0001-01-01", 10),  # the default 30 days would start before year 1
        ("to=0001-01-01", "0001-01-01", 1),
        ("to=9999-12-31", "9999-12-02", 30),
    ],
)
def test_daily_sales_at_the_ends_of_the_calendar(staff_api, query, first_day, days):
    # `to` near 0001-01-01 overflowed the default window's subtraction: that was a 500.
    response = staff_api.get(f"/api/reports/daily-sales/?{query}")
    assert response.status_code == 200, response.content
    assert response.json()[0]["date"] == first_day
    assert len(response.json()) == days
