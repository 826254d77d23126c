"""The Django admin writes through the commands: refusals are form errors, never 500s."""

import pytest
from django.contrib.auth import get_user_model

from catalog.models import Category, Product
from orders import commands as orders
from orders.models import Customer, Order
from readmodels.models import DomainEvent, ProjectionCheckpoint
from tests.conftest import wait_until
from tests.helpers import ADDRESS
from tests.pages.conftest import caught_up


@pytest.fixture
def admin_client(client, staff):
    staff.is_superuser = True  # admin model permissions; the commands only ask for is_staff
    staff.save()
    client.force_login(staff)
    return client


def test_admin_is_closed_to_customers_and_anonymous(client, customer):
    assert client.get("/admin/catalog/product/").status_code == 302
    client.force_login(customer)
    assert client.get("/admin/catalog/product/").status_code == 302


def test_add_category_and_product_run_the_commands(admin_client):
    admin_client.post("/admin/catalog/category/add/", {"name": "Tea", "slug": ""})
    assert Category.objects.get().slug == "tea"
    taken = admin_client.post("/admin/catalog/category/add/", {"name": "Tea", "slug": "tea"})
    assert taken.status_code == 200
    assert taken.context["adminform"].form.errors == {"slug": ["This slug is taken."]}

    data = {
        "sku": "bad sku",
        "name": "Sencha",
        "category": Category.objects.get().pk,
        "price": "0",
        "stock": "5",
        "description": "",
    }
    refused = admin_client.post("/admin/catalog/product/add/", data)
    assert set(refused.context["adminform"].form.errors) == {"sku", "price"}
    assert not Product.objects.exists()
    created = admin_client.post(
        "/admin/catalog/product/add/", {**data, "sku": "TEA-1", "price": "4.00"}
    )
    assert created.status_code == 302
    assert DomainEvent.objects.filter(event_type="ProductCreated").count() == 1


def change_data(product, **changes):
    return {
        "name": product.name,
        "category": product.category_id,
        "price": str(product.price),
        "description": product.description,
        "expected_version": product.version,
        "restock_quantity": "",
        "restock_reason": "",
        **changes,
    }


def test_change_product_runs_details_price_and_restock_commands(admin_client, make_product):
    make_product("A-1", price="10.00", stock=5)
    product = Product.objects.get()
    url = f"/admin/catalog/product/{product.pk}/change/"
    cut = admin_client.post(url, change_data(product, name="Renamed", price="2.00"))
    assert cut.status_code == 200
    assert cut.context["adminform"].form.errors == {
        "confirm_large_cut": ["Confirm a cut of more than 50%."]
    }
    product.refresh_from_db()
    assert (product.name, str(product.price)) == ("Product A-1", "10.00")  # all or nothing

    no_reason = admin_client.post(url, change_data(product, restock_quantity="3"))
    assert no_reason.context["adminform"].form.errors == {
        "restock_reason": ["Say why the stock goes up."]
    }
    ok = admin_client.post(
        url,
        change_data(
            product, name="Renamed", price="8.00", restock_quantity="3", restock_reason="delivery"
        ),
    )
    assert ok.status_code == 302
    product.refresh_from_db()
    assert (product.name, str(product.price), product.stock) == ("Renamed", "8.00", 8)
    assert list(
        DomainEvent.objects.filter(aggregate_type="product")
        .order_by("id")
        .values_list("event_type", flat=True)
    )[1:] == ["ProductDetailsChanged", "ProductPriceChanged", "ProductRestocked"]

    stale = admin_client.post(url, change_data(product, name="Again", expected_version=1))
    assert "changed by someone else" in stale.content.decode()


def test_product_actions_discontinue_and_reactivate(admin_client, make_product):
    make_product("A-1")
    product = Product.objects.get()
    action = {"_selected_action": [product.pk]}
    admin_client.post("/admin/catalog/product/", {**action, "action": "discontinue"})
    assert not Product.objects.get().active
    admin_client.post("/admin/catalog/product/", {**action, "action": "reactivate"})
    assert Product.objects.get().active


def test_add_customer_runs_register_customer(admin_client):
    data = {
        "username": "bob",
        "display_name": "Bob",
        "email": "bob@example.com",
        "password": "a-long-Passphrase-3",
    }
    assert admin_client.post("/admin/orders/customer/add/", data).status_code == 302
    taken = admin_client.post("/admin/orders/customer/add/", {**data, "username": "BOB"})
    assert taken.context["adminform"].form.errors == {"username": ["This username is taken."]}
    assert Customer.objects.count() == 1
    assert (
        admin_client.get(f"/admin/orders/customer/{Customer.objects.get().pk}/delete/").status_code
        == 403
    )


def test_order_actions_ship_deliver_cancel(admin_client, customer, make_product):
    make_product("A-1", price="2.50")
    first = orders.place_order(
        actor=customer, lines=[{"sku": "A-1", "quantity": 2}], shipping_address=ADDRESS
    )
    second = orders.place_order(
        actor=customer, lines=[{"sku": "A-1", "quantity": 1}], shipping_address=ADDRESS
    )
    orders.pay_order(actor=customer, order_id=first.id, amount="5.00", payment_reference="R")
    url = "/admin/orders/order/"
    assert admin_client.get(f"{url}add/").status_code == 403

    ask = admin_client.post(url, {"action": "ship", "_selected_action": [first.id]})
    assert ask.status_code == 200 and "tracking_number" in ask.content.decode()
    admin_client.post(
        url,
        {
            "action": "ship",
            "_selected_action": [first.id],
            "apply": "1",
            "tracking_number": "TRK-1",
        },
    )
    assert Order.objects.get(pk=first.id).tracking_number == "TRK-1"
    refused = admin_client.post(
        url, {"action": "deliver", "_selected_action": [second.id]}, follow=True
    )
    assert "cannot become delivered" in refused.content.decode()
    admin_client.post(url, {"action": "deliver", "_selected_action": [first.id]})
    admin_client.post(
        url,
        {"action": "cancel", "_selected_action": [second.id], "apply": "1", "reason": "dup"},
    )
    assert dict(Order.objects.values_list("pk", "status")) == {
        first.id: "delivered",
        second.id: "cancelled",
    }


@pytest.mark.parametrize(
    "model",
    [
        "productsummary",
        "ordersummary",
        "customersummary",
        "dailysales",
        "categorysummary",
        "domainevent",
        "deadletter",
    ],
)
def test_read_side_tables_are_read_only(admin_client, make_product, model):
    make_product("A-1")
    caught_up()
    listing = admin_client.get(f"/admin/readmodels/{model}/?q=A-1")
    assert listing.status_code == 200
    assert admin_client.get(f"/admin/readmodels/{model}/add/").status_code == 403


def test_event_log_filters_searches_and_shows_pretty_json(admin_client, make_product):
    make_product("A-1")
    event = DomainEvent.objects.get(event_type="ProductCreated")
    listing = admin_client.get(
        "/admin/readmodels/domainevent/",
        {"event_type": "ProductCreated", "q": event.aggregate_id},
    )
    assert list(listing.context["cl"].result_list) == [event]
    detail = admin_client.get(f"/admin/readmodels/domainevent/{event.pk}/change/").content.decode()
    assert "<pre>{\n  &quot;category_id&quot;" in detail


def test_projections_show_lag_retry_and_rebuild_in_the_background(admin_client, make_product):
    make_product("A-1")
    caught_up()
    page = admin_client.get("/admin/readmodels/projectioncheckpoint/").content.decode()
    assert "product_summary" in page and "never rebuilt here" in page
    admin_client.post(
        "/admin/readmodels/projectioncheckpoint/",
        {"action": "rebuild_in_background", "_selected_action": ["product_summary"]},
    )
    wait_until(
        lambda: ProjectionCheckpoint.objects.filter(
            name="product_summary", rebuild_finished_at__isnull=False
        ).exists()
    )
    assert (
        "finished " in admin_client.get("/admin/readmodels/projectioncheckpoint/").content.decode()
    )
    retried = admin_client.post(
        "/admin/readmodels/projectioncheckpoint/",
        {"action": "retry_dead_letters", "_selected_action": ["product_summary"]},
        follow=True,
    )
    assert "0 dead letter(s) resolved, 0 still failing." in retried.content.decode()
    assert get_user_model().objects.count() == 1


def test_a_checkpoint_left_by_a_removed_projection_shows_and_is_skipped(admin_client):
    ProjectionCheckpoint.objects.create(name="gone_summary")
    page = admin_client.get("/admin/readmodels/projectioncheckpoint/")
    assert page.status_code == 200
    assert "gone_summary" in page.content.decode()
    assert "no longer a projection" in page.content.decode()
    for action in ("retry_dead_letters", "rebuild_in_background"):
        done = admin_client.post(
            "/admin/readmodels/projectioncheckpoint/",
            {"action": action, "_selected_action": ["gone_summary"]},
            follow=True,
        )
        assert done.status_code == 200
        assert "Skipped gone_summary: no longer a projection." in done.content.decode()


def test_retrying_dead_letters_of_a_removed_projection_is_skipped(admin_client, make_product):
    from readmodels.models import DeadLetter

    make_product("A-1")
    letter = DeadLetter.objects.create(
        projection="gone_summary",
        event=DomainEvent.objects.latest("id"),
        status=DeadLetter.Status.DEAD,
        error="old",
    )
    done = admin_client.post(
        "/admin/readmodels/deadletter/",
        {"action": "retry", "_selected_action": [letter.pk]},
        follow=True,
    )
    assert done.status_code == 200
    assert "Skipped gone_summary: no longer a projection." in done.content.decode()
    letter.refresh_from_db()
    assert letter.status == DeadLetter.Status.DEAD
