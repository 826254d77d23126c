"""Who may run each staff command: a Django permission, checked in the command, so the API, the
staff pages and the admin agree (issue 12 item 4). A staff user with only `view_order` could
cancel and ship orders through the admin before."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from catalog import commands as catalog
from core.errors import PermissionDenied
from orders import commands as orders
from orders.models import Order
from tests.conftest import STAFF_PERMISSIONS, grant
from tests.helpers import ADDRESS, assert_refused

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_staff(db):
    def make(*permissions: str):
        user = get_user_model().objects.create_user(
            f"staff-{len(permissions)}-{'-'.join(permissions)}"[:150], password="pw", is_staff=True
        )
        return grant(user, *permissions)

    return make


@pytest.fixture
def paid_order(customer, make_product):
    sku = make_product(price="5.00", stock=10)
    order = orders.place_order(
        actor=customer, lines=[{"sku": sku, "quantity": 1}], shipping_address=ADDRESS
    )
    orders.pay_order(actor=customer, order_id=order.id, amount="5.00", payment_reference="P-1")
    return order.id


@pytest.fixture
def shipped_order(paid_order, staff):
    orders.ship_order(actor=staff, order_id=paid_order, tracking_number="T-1")
    return paid_order


# (command, the permission it needs, how to call it given the fixtures)
MATRIX = [
    ("create_category", "catalog.add_category", lambda a, f: catalog.create_category(actor=a, name="Tea")),
    ("create_product", "catalog.add_product", lambda a, f: catalog.create_product(actor=a, sku="NEW-1", name="New", category=f["category"], price="1.00")),
    ("update_product_details", "catalog.change_product", lambda a, f: catalog.update_product_details(actor=a, sku=f["sku"], name="Renamed")),
    ("change_price", "catalog.change_product", lambda a, f: catalog.change_price(actor=a, sku=f["sku"], price="6.00")),
    ("restock", "catalog.change_product", lambda a, f: catalog.restock(actor=a, sku=f["sku"], quantity=5, reason="delivery")),
    ("discontinue_product", "catalog.change_product", lambda a, f: catalog.discontinue_product(actor=a, sku=f["sku"])),
    ("ship_order", "orders.change_order", lambda a, f: orders.ship_order(actor=a, order_id=f["paid"], tracking_number="T-9")),
    ("deliver_order", "orders.change_order", lambda a, f: orders.deliver_order(actor=a, order_id=f["shipped"])),
    ("cancel_order", "orders.change_order", lambda a, f: orders.cancel_order(actor=a, order_id=f["paid"], reason="staff cancel")),
]  # fmt: skip


@pytest.fixture
def world(category, make_product, shipped_order, customer):
    # shipped_order ships the paid_order; a second paid order is for ship and cancel.
    sku = make_product(price="5.00", stock=10)
    order = orders.place_order(
        actor=customer, lines=[{"sku": sku, "quantity": 1}], shipping_address=ADDRESS
    )
    orders.pay_order(actor=customer, order_id=order.id, amount="5.00", payment_reference="P-2")
    return {"category": category, "sku": sku, "paid": order.id, "shipped": shipped_order}


@pytest.mark.parametrize(("name", "permission", "call"), MATRIX, ids=[m[0] for m in MATRIX])
def test_each_staff_command_needs_its_permission(world, make_staff, name, permission, call):
    others = [p for p in STAFF_PERMISSIONS if p != permission]
    for actor in (
        make_staff(),
        make_staff("orders.view_order", "catalog.view_product"),
        make_staff(*others),
    ):
        error = assert_refused(
            PermissionDenied, "missing_permission", lambda a=actor: call(a, world)
        )
        assert error.fields == {"permission": permission}
    assert call(make_staff(permission), world).id


def test_customers_still_cancel_their_own_pending_orders_without_any_permission(
    customer, make_product
):
    sku = make_product(stock=10)
    order = orders.place_order(
        actor=customer, lines=[{"sku": sku, "quantity": 1}], shipping_address=ADDRESS
    )
    orders.cancel_order(actor=customer, order_id=order.id, reason="changed my mind")
    assert Order.objects.get(pk=order.id).status == "cancelled"


def test_the_api_refuses_staff_without_the_permission(paid_order, make_staff):
    client = APIClient()
    client.force_authenticate(make_staff("orders.view_order"))
    response = client.post(
        f"/api/orders/{paid_order}/ship", {"tracking_number": "T-1"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_permission"
    assert Order.objects.get(pk=paid_order).status == "paid"


def test_the_staff_pages_refuse_staff_without_the_permission(client, paid_order, make_staff):
    client.force_login(make_staff("orders.view_order"))
    response = client.post(f"/staff/fulfilment/{paid_order}/ship/", {"tracking_number": "T-1"})
    assert response.status_code == 400
    assert "orders.change_order" in response.content.decode()
    assert Order.objects.get(pk=paid_order).status == "paid"


def test_the_admin_offers_and_runs_order_actions_only_with_the_permission(
    client, paid_order, make_staff
):
    viewer = make_staff("orders.view_order")
    client.force_login(viewer)
    page = client.get("/admin/orders/order/")
    assert page.status_code == 200
    assert 'value="ship"' not in page.content.decode()
    for action in ("ship", "cancel", "deliver"):
        client.post(
            "/admin/orders/order/",
            {"action": action, "_selected_action": [paid_order], "apply": "1",
             "tracking_number": "T-1", "reason": "because"},
        )  # fmt: skip
    assert Order.objects.get(pk=paid_order).status == "paid"

    client.force_login(make_staff("orders.view_order", "orders.change_order"))
    assert 'value="ship"' in client.get("/admin/orders/order/").content.decode()
    client.post(
        "/admin/orders/order/",
        {
            "action": "ship",
            "_selected_action": [paid_order],
            "apply": "1",
            "tracking_number": "T-1",
        },
    )
    assert Order.objects.get(pk=paid_order).status == "shipped"
