"""The projection engine against the real database: ordering, batching, failures, rebuilds."""

import random
import threading
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction

from catalog import commands as catalog
from core.errors import DomainError
from core.eventlog import ORIGIN
from orders import commands as orders
from readmodels import checkpoints, engine, rebuild, status
from readmodels.models import (
    CategorySummary,
    CustomerSummary,
    DailySales,
    DeadLetter,
    DomainEvent,
    OrderSummary,
    ProductSummary,
    ProjectionCheckpoint,
)
from readmodels.projections import PROJECTIONS
from tests.helpers import ADDRESS, held_open, record_unreadable_order

pytestmark = pytest.mark.django_db(transaction=True)
SUMMARIES = [ProductSummary, OrderSummary, CustomerSummary, DailySales, CategorySummary]


def summaries() -> dict:
    """Every summary row, without the bookkeeping column that records when it was refreshed."""
    return {
        model.__name__: [
            {k: v for k, v in row.items() if k != "position"}
            for row in model.objects.order_by("pk").values()
        ]
        for model in SUMMARIES
    }


def checkpoint(name="category_summary"):
    cp = ProjectionCheckpoint.objects.filter(name=name).first() or ProjectionCheckpoint()
    return (cp.txid, cp.event_id)


def test_an_event_committed_late_with_a_lower_id_is_not_skipped(staff):
    with held_open(lambda: catalog.create_category(actor=staff, name="Slow")):
        catalog.create_category(actor=staff, name="Fast")  # a higher id, committed first
        engine.run_all()
        # The slow transaction is still open: nothing above its horizon may be applied yet.
        assert list(CategorySummary.objects.values_list("name", flat=True)) == []
        assert checkpoint() == tuple(ORIGIN)
    slow_event, fast_event = (DomainEvent.objects.get(payload__name=n) for n in ("Slow", "Fast"))
    assert slow_event.id < fast_event.id  # it committed out of id order
    engine.run_all()
    assert sorted(CategorySummary.objects.values_list("name", flat=True)) == ["Fast", "Slow"]
    last = DomainEvent.objects.order_by("-txid", "-id").first()
    assert checkpoint() == (last.txid, last.id)
    assert engine.run_all()["category_summary"] == 0  # nothing applied twice


def random_commands(staff, count, seed=7):
    """A few hundred mixed commands, some of them refused."""
    rng = random.Random(seed)
    for name in ["Coffee", "Tea", "Tools"]:
        catalog.create_category(actor=staff, name=name)
    skus = []
    for i in range(12):
        sku = f"RND-{i}"
        catalog.create_product(
            actor=staff, sku=sku, name=f"Thing {i}", category=rng.choice(["coffee", "tea", "tools"]),
            price=f"{rng.randint(1, 90)}.{rng.randint(0, 99):02d}", stock=rng.randint(0, 40),
        )  # fmt: skip
        skus.append(sku)
    buyers = []
    for i in range(6):
        result = orders.register_customer(
            username=f"buyer{i}",
            email=f"b{i}@example.com",
            password="a-long-Passphrase-7",
            display_name=f"B{i}",
        )
        buyers.append(result.id)
    from django.contrib.auth import get_user_model

    users = list(get_user_model().objects.filter(customer__pk__in=buyers))
    placed = []
    for _ in range(count):
        action = rng.random()
        try:
            if action < 0.45:
                lines = [
                    {"sku": rng.choice(skus), "quantity": rng.randint(1, 6)}
                    for _ in range(rng.randint(1, 3))
                ]
                user = rng.choice(users)
                placed.append(
                    (user, orders.place_order(actor=user, lines=lines, shipping_address=ADDRESS))
                )
            elif action < 0.6 and placed:
                user, order = rng.choice(placed)
                orders.pay_order(
                    actor=user,
                    order_id=order.id,
                    amount=rng.choice(["1.00", "0"]),
                    payment_reference="P",
                )
            elif action < 0.7 and placed:
                user, order = rng.choice(placed)
                from orders.models import Order

                total = Order.objects.get(pk=order.id).total
                orders.pay_order(
                    actor=user, order_id=order.id, amount=total, payment_reference=f"P{order.id}"
                )
            elif action < 0.78 and placed:
                orders.ship_order(
                    actor=staff, order_id=rng.choice(placed)[1].id, tracking_number="T"
                )
            elif action < 0.84 and placed:
                orders.deliver_order(actor=staff, order_id=rng.choice(placed)[1].id)
            elif action < 0.9 and placed:
                orders.cancel_order(actor=staff, order_id=rng.choice(placed)[1].id, reason="r")
            elif action < 0.95:
                catalog.restock(
                    actor=staff,
                    sku=rng.choice(skus),
                    quantity=rng.randint(1, 30),
                    reason="delivery",
                )
            else:
                catalog.change_price(
                    actor=staff,
                    sku=rng.choice(skus),
                    price=f"{rng.randint(1, 99)}.00",
                    confirm_large_cut=True,
                )
        except DomainError:
            pass


def test_incremental_projection_equals_a_rebuild_and_running_again_changes_nothing(staff):
    random_commands(staff, 250)
    assert DomainEvent.objects.filter(event_type="OrderPlaced").count() > 20
    # Run the projections in small batches, interleaved with more commands.
    for _ in range(3):
        for projection in PROJECTIONS.values():
            engine.run_projection(projection, batch_size=37)
    incremental = summaries()
    assert (
        incremental["OrderSummary"] and incremental["DailySales"] and incremental["CustomerSummary"]
    )

    for projection in PROJECTIONS.values():
        assert [str(drift) for drift in rebuild.verify(projection)] == [], projection.name
        rebuild.rebuild(projection)
    assert summaries() == incremental

    # Deltas apply once: a run with nothing new applies nothing and changes nothing.
    assert set(engine.run_all().values()) == {0}
    assert summaries() == incremental


def test_a_crash_mid_batch_leaves_nothing_and_the_next_run_completes_it(
    staff, make_product, monkeypatch
):
    for _ in range(5):
        make_product()

    def crash(*args, **kwargs):
        raise RuntimeError("worker died after writing the rows")

    monkeypatch.setattr(engine.checkpoints, "moved", crash)
    with pytest.raises(RuntimeError):
        engine.run_projection(PROJECTIONS["product_summary"])
    assert not ProductSummary.objects.exists()
    assert checkpoint("product_summary") == tuple(ORIGIN)

    monkeypatch.undo()
    assert engine.run_projection(PROJECTIONS["product_summary"]) == DomainEvent.objects.count()
    assert ProductSummary.objects.count() == 5


def test_a_poison_event_is_dead_lettered_after_five_failures_and_replayed_once_fixed(
    staff, make_product, monkeypatch, settings
):
    settings.PROJECTION_DEAD_LETTER_AFTER_SECONDS = 0
    first = make_product("GOOD-1")
    poison = make_product("POISON-1")
    poison_event = DomainEvent.objects.get(event_type="ProductCreated", payload__sku=poison)
    projection = PROJECTIONS["product_summary"]
    real_apply = type(projection).apply_statements

    def buggy_apply(self, events):
        if any(event.event_id == poison_event.id for event in events):
            raise ValueError("projector bug")
        return real_apply(self, events)

    monkeypatch.setattr(type(projection), "apply_statements", buggy_apply)
    for attempt in range(1, 5):
        with pytest.raises(engine.ProjectionFailed):
            engine.run_projection(projection)
        letter = DeadLetter.objects.get(event=poison_event)
        assert (letter.attempts, letter.status) == (attempt, "retrying")
        assert list(ProductSummary.objects.values_list("sku", flat=True)) == [first]
    make_product("LATER-1")
    engine.run_projection(projection)  # fifth failure: dead-lettered, and the projection moves on
    letter = DeadLetter.objects.get(event=poison_event)
    assert (letter.attempts, letter.status) == (5, "dead")
    assert "projector bug" in letter.error and "ValueError" in letter.traceback
    assert sorted(ProductSummary.objects.values_list("sku", flat=True)) == [first, "LATER-1"]

    assert engine.replay_dead_letters() == (0, 1)  # still broken
    monkeypatch.undo()  # the fix is deployed
    assert engine.replay_dead_letters(["product_summary"]) == (1, 0)
    assert DeadLetter.objects.get(event=poison_event).status == "resolved"
    assert ProductSummary.objects.filter(sku=poison).exists()


def test_a_second_runner_leaves_at_once(make_product):
    make_product()
    checkpoints.ensure(PROJECTIONS)
    locked, release = threading.Event(), threading.Event()

    def hold_the_checkpoint():
        with transaction.atomic():
            checkpoints.lock("product_summary", wait=False)
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_the_checkpoint)
    holder.start()
    locked.wait(10)
    try:
        assert engine.run_projection(PROJECTIONS["product_summary"]) == 0
    finally:
        release.set()
        holder.join()
    assert engine.run_projection(PROJECTIONS["product_summary"]) > 0


def test_rebuild_while_orders_keep_arriving_matches_a_quiet_rebuild(make_customer, make_product):
    skus = [make_product(stock=100_000) for _ in range(5)]
    buyers = [make_customer() for _ in range(3)]
    engine.run_all()
    stop = threading.Event()

    def keep_ordering():
        rng = random.Random(1)
        while not stop.is_set():
            orders.place_order(
                actor=rng.choice(buyers),
                lines=[{"sku": rng.choice(skus), "quantity": 1}],
                shipping_address=ADDRESS,
            )
        connection.close()

    writer = threading.Thread(target=keep_ordering)
    writer.start()
    try:
        for _ in range(3):
            for projection in PROJECTIONS.values():
                rebuild.rebuild(projection)
    finally:
        stop.set()
        writer.join()
    engine.run_all()
    after_busy_rebuild = summaries()
    assert after_busy_rebuild["OrderSummary"]
    for projection in PROJECTIONS.values():
        rebuild.rebuild(projection)
    assert summaries() == after_busy_rebuild


def test_summary_tables_refuse_writes_from_anyone_but_a_projector(make_product):
    make_product()
    engine.run_all()
    assert ProductSummary.objects.exists() and CategorySummary.objects.exists()
    for sql in [
        "UPDATE readmodels_productsummary SET stock = 0",
        "DELETE FROM readmodels_categorysummary",
        "INSERT INTO readmodels_dailysales VALUES ('2020-01-01', 1, 0, 1, 1, 1)",
    ]:
        with (
            pytest.raises(DatabaseError, match="projector_only"),
            transaction.atomic(),
            connection.cursor() as c,
        ):
            c.execute(sql)


def test_status_reports_lag_and_the_transaction_holding_the_horizon(staff, make_product):
    make_product()
    statuses, _ = status.projection_status()
    assert all(s.events_behind == 2 for s in statuses)
    engine.run_all()
    statuses, holders = status.projection_status()
    assert all(s.events_behind == 0 and s.dead_letters == 0 for s in statuses)
    assert holders == []

    recorded, release = threading.Event(), threading.Event()

    def long_transaction():
        with transaction.atomic():
            catalog.create_category(actor=staff, name="Held")
            recorded.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=long_transaction)
    holder.start()
    recorded.wait(10)
    try:
        catalog.create_category(actor=staff, name="Waiting")
        engine.run_all()
        statuses, holders = status.projection_status()
        assert all(s.events_behind == 1 for s in statuses)  # "Waiting"; "Held" is not visible yet
        [held_by] = holders
        assert held_by.state == "idle in transaction"
        assert held_by.pid != connection.connection.info.backend_pid
    finally:
        release.set()
        holder.join()


def test_search_follows_a_rename_and_survives_sales(staff, make_product, customer):
    from catalog.queries import list_products

    sku = make_product(name="Kenya filter roast", stock=10)
    engine.run_all()
    orders.place_order(
        actor=customer, lines=[{"sku": sku, "quantity": 1}], shipping_address=ADDRESS
    )
    engine.run_all()  # a refresh for sales alone keeps the vector it has
    assert [p.sku for p in list_products(q="kenya")] == [sku]

    catalog.update_product_details(actor=staff, sku=sku, name="Sumatra espresso")
    engine.run_all()
    assert [p.sku for p in list_products(q="sumatra")] == [sku]
    assert list(list_products(q="kenya")) == []
    assert rebuild.verify(PROJECTIONS["product_summary"]) == []


def test_every_event_type_is_heard_by_some_projection():
    """A new event type that no projector subscribes to would change nothing on the read side."""
    from core.eventlog import Event

    def leaves(cls):
        children = cls.__subclasses__()
        return [leaf for child in children for leaf in leaves(child)] if children else [cls]

    heard = {event_type for p in PROJECTIONS.values() for event_type in p.event_types}
    assert {event.event_type() for event in leaves(Event)} - heard == set()


def test_failures_within_a_short_outage_do_not_dead_letter_a_good_event(
    make_product, monkeypatch, settings
):
    settings.PROJECTION_DEAD_LETTER_AFTER_SECONDS = 60
    make_product()
    projection = PROJECTIONS["product_summary"]

    def outage(self, events):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(type(projection), "apply_statements", outage)
    for _ in range(settings.PROJECTION_MAX_ATTEMPTS + 3):  # many runs in quick succession
        with pytest.raises(engine.ProjectionFailed):
            engine.run_projection(projection)
    letter = DeadLetter.objects.get()  # the first event, where the projection stopped
    assert (letter.status, letter.attempts) == ("retrying", settings.PROJECTION_MAX_ATTEMPTS + 3)

    # A minute of failing is a real failure: the next attempt gives up on the event.
    DeadLetter.objects.filter(pk=letter.pk).update(
        first_failed_at=letter.first_failed_at - timedelta(seconds=61)
    )
    with pytest.raises(engine.ProjectionFailed):  # the next event fails for the first time
        engine.run_projection(projection)
    assert DeadLetter.objects.get(pk=letter.pk).status == "dead"


def test_a_batch_takes_as_many_round_trips_for_every_projection_as_for_one(make_product, customer):
    """On a busy host each round trip waits for the scheduler, so a batch's cost in time is its
    round trips: all the projections' statements go in one."""
    from django.test.utils import CaptureQueriesContext

    sku = make_product(stock=100)
    engine.run_all()
    orders.place_order(
        actor=customer, lines=[{"sku": sku, "quantity": 1}], shipping_address=ADDRESS
    )
    with CaptureQueriesContext(connection) as one:
        assert engine.run_all(["order_summary"]) == {"order_summary": 1}
    orders.place_order(
        actor=customer, lines=[{"sku": sku, "quantity": 2}], shipping_address=ADDRESS
    )
    with CaptureQueriesContext(connection) as every:
        applied = engine.run_all()
    assert applied["order_summary"] == 1 and applied["product_summary"] == 2
    assert len(every) == len(one), [query["sql"][:60] for query in every]
    assert ProductSummary.objects.get(sku=sku).units_sold == 3


def test_an_event_some_projections_cannot_read_stops_only_them(make_product, customer):
    """A failure in the shared statement rolls the whole batch back; applied again one
    projection at a time, the projections that can read the event move past it, once, and
    those that cannot stop before it."""
    sku = make_product(stock=100)
    placed = orders.place_order(
        actor=customer, lines=[{"sku": sku, "quantity": 1}], shipping_address=ADDRESS
    )
    engine.run_all()
    bad = record_unreadable_order(placed.id)
    after = orders.place_order(
        actor=customer, lines=[{"sku": sku, "quantity": 2}], shipping_address=ADDRESS
    )

    with pytest.raises(engine.ProjectionFailed):
        engine.run_all()

    stopped = set(DeadLetter.objects.filter(event_id=bad).values_list("projection", flat=True))
    assert {"customer_summary", "daily_sales"} <= stopped and "product_summary" not in stopped
    for name in PROJECTIONS:
        reached = checkpoint(name)
        assert reached < (after.token.txid, bad) if name in stopped else reached >= after.token
    # The lines of the unreadable copy count too: it names the same order, read for its lines.
    assert ProductSummary.objects.get(sku=sku).units_sold == 1 + 1 + 2
