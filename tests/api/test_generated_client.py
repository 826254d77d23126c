"""A real client, generated: openapi-python-client turns the live server's /api/schema/ into a
typed Python package at test time, and one whole journey runs through it over HTTP (a live
server, the real worker projecting). Where the generated client cannot express a call or parse
an answer, the schema is wrong: every answer below must parse into its documented model.

Offline: the generator only reads the schema file it is given."""

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from rest_framework.authtoken.models import Token

from tests.helpers import ADDRESS_JSON

PASSWORD = "a-long-Passphrase-7"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture
def generated(live_server, tmp_path, monkeypatch):
    """The `shop_client` package, generated from the running server's schema."""
    schema = tmp_path / "schema.json"
    response = httpx.get(f"{live_server.url}/api/schema/?format=json")
    assert response.status_code == 200
    schema.write_bytes(response.content)
    config = tmp_path / "config.yaml"
    config.write_text("package_name_override: shop_client\npost_hooks: []\n")
    result = subprocess.run(
        [
            GENERATOR,
            "generate",
            "--path", str(schema),
            "--config", str(config),
            "--meta", "none",
            "--output-path", str(tmp_path / "shop_client"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout  # a part of the schema it could not use
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [module for module in sys.modules if module.startswith("shop_client")]:
        del sys.modules[name]
    return importlib.import_module("shop_client")


TAGS = ("catalog", "orders", "reports", "operations")


def operation(name: str):
    """A generated operation's module: the client groups them by the schema's tags."""
    found = [tag for tag in TAGS if importlib.util.find_spec(f"shop_client.api.{tag}.{name}")]
    assert len(found) == 1, (name, found)
    return importlib.import_module(f"shop_client.api.{found[0]}.{name}")


def call(module: str, **kwargs):
    """Call a generated operation and return its parsed answer, checking that it parsed."""
    operation_ = operation(module)
    response = operation_.sync_detailed(**kwargs)
    assert response.parsed is not None, (module, response.status_code, response.content)
    return response


@pytest.mark.django_db(transaction=True)
def test_a_whole_journey_through_the_generated_client(generated, live_server, worker, staff):
    from shop_client import AuthenticatedClient, Client
    from shop_client import models as m
    from shop_client.types import UNSET

    anonymous = Client(base_url=live_server.url, raise_on_unexpected_status=True)
    staff_client = AuthenticatedClient(
        base_url=live_server.url,
        token=Token.objects.get_or_create(user=staff)[0].key,
        prefix="Token",
        raise_on_unexpected_status=True,
    )

    # Staff stock the shop.
    created = call("create_category", client=staff_client, body=m.CategoryInRequest(name="Coffee"))
    assert created.status_code == 201
    for sku, name, price in [
        ("JOUR-1", "Journey beans", "8.00"),
        ("JOUR-2", "Other beans", "5.00"),
    ]:
        body = m.ProductInRequest(sku=sku, name=name, category="coffee", price=price, stock=10)
        product = call("create_product", client=staff_client, body=body).parsed
        assert isinstance(product, m.ProductCommandOut) and product.sku == sku

    # Sign up: the answer carries the token; the token endpoint gives the same one.
    body = m.SignUpInRequest(
        username="journey", email="journey@example.com", password=PASSWORD, display_name="J"
    )
    signed_up = call("register_customer", client=anonymous, body=body).parsed
    assert isinstance(signed_up, m.SignUpOut) and signed_up.token
    token = call(
        "obtain_token",
        client=anonymous,
        body=m.TokenInRequest(username="journey", password=PASSWORD),
    ).parsed
    assert token.token == signed_up.token
    me = AuthenticatedClient(
        base_url=live_server.url,
        token=token.token,
        prefix="Token",
        raise_on_unexpected_status=True,
    )

    # Browse and search, reading the catalog as of the staff's last change.
    page = call(
        "products_list",
        client=anonymous,
        q="journey",
        after=product.consistency_token,
        wait=5000,
    ).parsed
    assert isinstance(page, m.ProductPage)
    assert [p.sku for p in page.results] == ["JOUR-1"]
    assert page.results[0].units_sold is UNSET  # sales figures are staff only
    categories = call(
        "categories_list", client=anonymous, after=product.consistency_token, wait=5000
    )
    assert [c.slug for c in categories.parsed.results] == ["coffee"]

    # Order: the answer has the total to pay and the address.
    address = m.AddressInRequest.from_dict(ADDRESS_JSON)
    lines = [m.LineInRequest(sku="JOUR-1", quantity=2), m.LineInRequest(sku="JOUR-2", quantity=1)]
    placed = call(
        "place_order",
        client=me,
        body=m.PlaceOrderInRequest(lines=lines, shipping_address=address),
        idempotency_key="journey-1",
    ).parsed
    assert isinstance(placed, m.PlacedOrderOut)
    assert placed.shipping_address.to_dict() == ADDRESS_JSON
    assert (placed.status, placed.total) == (m.OrderStatusEnum.PENDING, "21.00")
    assert sorted((line.sku, line.line_total) for line in placed.lines) == [
        ("JOUR-1", "16.00"),
        ("JOUR-2", "5.00"),
    ]
    # Read your writes.
    order = call(
        "get_order",
        order_id=placed.id,
        client=me,
        after=placed.consistency_token,
        wait=5000,
    ).parsed
    assert isinstance(order, m.OrderOut) and order.total == "21.00"
    assert order.shipping_address.to_dict() == ADDRESS_JSON

    paid = call(
        "pay_order",
        order_id=placed.id,
        client=me,
        body=m.PayInRequest(amount=placed.total, payment_reference="PAY-J1"),
    ).parsed
    assert (paid.status, paid.payment_reference) == (m.OrderStatusEnum.PAID, "PAY-J1")

    second = call(
        "place_order",
        client=me,
        body=m.PlaceOrderInRequest(
            lines=[m.LineInRequest(sku="JOUR-2", quantity=1)], shipping_address=address
        ),
    ).parsed
    cancelled = call(
        "cancel_order",
        order_id=second.id,
        client=me,
        body=m.CancelInRequest(reason="changed my mind"),
    ).parsed
    assert cancelled.status == m.OrderStatusEnum.CANCELLED

    # Staff ship and deliver.
    shipped = call(
        "ship_order",
        order_id=placed.id,
        client=staff_client,
        body=m.ShipInRequest(tracking_number="TRK-J1"),
    ).parsed
    assert shipped.status == m.OrderStatusEnum.SHIPPED
    delivered = call(
        "deliver_order",
        order_id=placed.id,
        client=staff_client,
        body=m.VersionedInRequest(expected_version=shipped.version),
    ).parsed
    assert delivered.status == m.OrderStatusEnum.DELIVERED

    # My orders and history, as of the delivery.
    mine = call("orders_list", client=me, after=delivered.consistency_token, wait=5000).parsed
    assert [(o.id, o.status) for o in mine.results] == [
        (second.id, m.OrderStatusEnum.CANCELLED),
        (placed.id, m.OrderStatusEnum.DELIVERED),
    ]
    history = call("order_history", order_id=placed.id, client=me).parsed
    assert [entry.event_type for entry in history] == [
        "OrderPlaced",
        "OrderPaid",
        "OrderShipped",
        "OrderDelivered",
    ]

    # Reports.
    after = {"after": delivered.consistency_token, "wait": 5000}
    days = call("daily_sales_report", client=staff_client, **after).parsed
    assert sum(day.orders_placed for day in days) == 2
    customers = call("customers_report", client=staff_client, **after).parsed
    assert [(c.username, c.lifetime_value) for c in customers.results] == [("journey", "21.00")]
    best = call("best_sellers_report", client=staff_client, **after).parsed
    assert (best[0].sku, best[0].units_sold) == ("JOUR-1", 2)

    # A refusal parses as the documented error.
    refused = operation("pay_order").sync_detailed(
        order_id=placed.id,
        client=AuthenticatedClient(base_url=live_server.url, token=token.token, prefix="Token"),
        body=m.PayInRequest(amount="0.01", payment_reference="PAY-J1"),
    )
    assert refused.status_code == 409
    assert isinstance(refused.parsed, m.ErrorOut)
    assert refused.parsed.error.code == "payment_mismatch"
