"""The real path: command → commit → Redis → Celery worker → summary table → query/API/page."""

from catalog import commands, queries
from orders import commands as orders
from readmodels.consistency import wait_for
from readmodels.models import OrderSummary, ProductSummary
from tests.conftest import wait_until
from tests.helpers import ADDRESS


def test_a_product_created_by_command_reaches_the_query_the_api_and_the_page(worker, staff, client):
    commands.create_category(actor=staff, name="Coffee")
    result = commands.create_product(
        actor=staff, sku="E2E-1", name="Worker Roast", category="coffee", price="12.50", stock=3
    )
    assert wait_for(result.token, timeout=15), "the worker did not project the event"

    product = queries.get_product(sku="E2E-1")
    assert (product.name, str(product.price), product.stock) == ("Worker Roast", "12.50", 3)

    body = client.get("/api/products/").json()
    assert [(p["sku"], p["price"], p["category"]) for p in body["results"]] == [
        ("E2E-1", "12.50", "coffee")
    ]
    page = client.get("/")
    assert page.status_code == 200
    assert "Worker Roast" in page.content.decode()


def test_an_order_flows_into_every_summary_through_the_worker(worker, staff, customer):
    commands.create_category(actor=staff, name="Tea")
    commands.create_product(
        actor=staff, sku="TEA-1", name="Sencha", category="tea", price="4.00", stock=9
    )
    placed = orders.place_order(
        actor=customer, lines=[{"sku": "TEA-1", "quantity": 2}], shipping_address=ADDRESS
    )
    paid = orders.pay_order(
        actor=customer, order_id=placed.id, amount="8.00", payment_reference="P-1"
    )

    summary = wait_until(
        lambda: OrderSummary.objects.filter(order_id=placed.id, status="paid").first()
    )
    assert (summary.units, str(summary.total), summary.product_names) == (2, "8.00", ["Sencha"])
    assert wait_for(paid.token, timeout=15)
    product = ProductSummary.objects.get(sku="TEA-1")
    assert (product.stock, product.units_sold, str(product.revenue)) == (7, 2, "8.00")
