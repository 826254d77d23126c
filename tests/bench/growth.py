"""Growth: does a projection's cost follow the change, or the history behind its keys?

One hot product, bought by one customer in every order, all on today's date. At each level of
prior orders holding it (0, then 100,000, then 1,000,000 at full scale), new orders are placed
through `place_order` (three rounds, the median counts) and the projections are timed
applying them in batches of live size (50 events). The prior orders are written set-based, as the commands would write them (order,
line and a version-2 `OrderPlaced` event); the checkpoints are then moved past them, so only the
new orders are timed. A rebuild at the end folds everything, and is timed too.
"""

from __future__ import annotations

import io
import time

from tests.bench.common import purge_queue

LIVE_BATCH = 50
ROUNDS = 3


def hot_product_and_buyer():
    """A fresh product with room for every order, and a fresh customer, made by the commands."""
    from django.contrib.auth import get_user_model

    from catalog import commands as catalog
    from catalog.models import Category
    from orders import commands as orders

    staff = get_user_model().objects.filter(is_staff=True).first()
    category = Category.objects.order_by("id").first()
    sku = "HOT-GROWTH"
    catalog.create_product(
        actor=staff,
        sku=sku,
        name="Hot growth blend",
        description="Everyone buys it.",
        category=category.slug,
        price="9.50",
        stock=100_000_000,
    )
    orders.register_customer(
        username="growth-buyer",
        email="growth@example.com",
        password="growth-Passphrase-2026",
        display_name="Growth Buyer",
    )
    return sku, get_user_model().objects.select_related("customer").get(username="growth-buyer")


def seed_prior_orders(*, sku: str, customer_id: int, count: int) -> None:
    """`count` more pending orders of one unit of the hot product, placed today, each with its
    line and its OrderPlaced event, in one set-based statement."""
    from django.db import connection, transaction

    if count <= 0:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            WITH product AS (SELECT id, sku, name, price, currency FROM catalog_product
                             WHERE sku = %(sku)s),
            placed AS (
                INSERT INTO orders_order (customer_id, status, total, currency, placed_at,
                    tracking_number, payment_reference, cancel_reason, request_digest, version)
                SELECT %(customer)s, 'pending', product.price, product.currency,
                       date_trunc('day', now()) + (n %% 86000) * interval '1 second', '', '', '',
                       '', 1
                FROM product, generate_series(1, %(count)s) AS n
                RETURNING id, total, currency, placed_at
            ),
            lines AS (
                INSERT INTO orders_orderline (order_id, product_id, sku, product_name, quantity,
                                              unit_price)
                SELECT placed.id, product.id, product.sku, product.name, 1, product.price
                FROM placed, product
            )
            INSERT INTO readmodels_domainevent
                (event_type, event_version, aggregate_type, aggregate_id, payload, metadata)
            SELECT 'OrderPlaced', 2, 'order', placed.id::text,
                   jsonb_build_object(
                       'order_id', placed.id, 'customer_id', %(customer)s, 'version', 1,
                       'lines', jsonb_build_array(jsonb_build_object(
                           'sku', product.sku, 'product_id', product.id, 'quantity', 1,
                           'unit_price', product.price::text)),
                       'total', placed.total::text, 'currency', placed.currency,
                       'placed_at', placed.placed_at),
                   '{"actor": null, "correlation_id": "growth-seed", "causation_id": null}'
            FROM placed, product
            """,
            {"sku": sku, "customer": customer_id, "count": count},
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) orders_order, orders_orderline, readmodels_domainevent")
        # Write the seeded pages out now, not while the next level is being timed.
        cursor.execute("CHECKPOINT")


def skip_to_the_horizon() -> None:
    """Move every checkpoint past the seeded events without applying them: only the new orders
    are timed (the rebuild at the end folds the seeded ones in)."""
    from readmodels import engine
    from readmodels.log import horizon_position
    from readmodels.models import ProjectionCheckpoint

    engine.run_all()  # whatever came before the seed is applied for real
    position = horizon_position()
    ProjectionCheckpoint.objects.update(txid=position.txid, event_id=position.event_id)


def time_new_orders(*, sku: str, buyer, others: list[str], count: int) -> dict:
    """Place `count` orders of the hot product (and one other line), then time each projection
    applying them in live-sized batches."""
    from orders import commands as orders
    from readmodels import engine
    from tests.helpers import ADDRESS

    for i in range(count):
        lines = [{"sku": sku, "quantity": 1}, {"sku": others[i % len(others)], "quantity": 1}]
        orders.place_order(actor=buyer, lines=lines, shipping_address=ADDRESS)
    seconds = {}
    for projection in engine.get_projections():
        start = time.perf_counter()
        engine.run_projection(projection, batch_size=LIVE_BATCH)
        seconds[projection.name] = time.perf_counter() - start
    total = sum(seconds.values())
    return {
        "orders_per_s": count / total,
        "seconds": total,
        "per_projection_ms": {k: round(v * 1000, 1) for k, v in seconds.items()},
    }


def scenario_growth(results, *, levels: tuple[int, ...], new_orders: int, others: list[str]):
    """Returns the hot SKU, for the lag scenario that follows on the grown history."""
    from django.core.management import call_command

    from orders.models import OrderLine

    sku, buyer = hot_product_and_buyer()
    rates = {}
    for level in levels:
        seed_prior_orders(
            sku=sku, customer_id=buyer.customer.id, count=level - _holding(OrderLine, sku)
        )
        rounds = []
        for _ in range(ROUNDS):  # the median of a few rounds: this machine is shared
            skip_to_the_horizon()
            rounds.append(time_new_orders(sku=sku, buyer=buyer, others=others, count=new_orders))
            purge_queue()
        measured = sorted(rounds, key=lambda r: r["orders_per_s"])[ROUNDS // 2]
        measured["rounds_orders_per_s"] = [round(r["orders_per_s"], 1) for r in rounds]
        rates[level] = measured["orders_per_s"]
        ratio = rates[level] / rates[levels[0]]
        results.add(
            "8 growth",
            f"project {new_orders} new orders, {level:,} prior holding the hot product",
            measured["orders_per_s"],
            "orders/s",
            rates[levels[0]],
            ratio=round(ratio, 2),
            target="≥ 0.8× the rate at 0" if level else None,
            met=(ratio >= 0.8) if level else None,
            details={**measured, "batch_size": LIVE_BATCH, "prior_orders": level},
        )
    orders = _count_orders()
    start = time.perf_counter()
    call_command("rebuild_projections", stdout=io.StringIO(), stderr=io.StringIO())
    seconds = time.perf_counter() - start
    results.add(
        "8 growth",
        f"rebuild_projections with {orders:,} orders",
        seconds,
        "s",
        details={"orders": orders},
    )
    return sku


def _holding(order_line, sku) -> int:
    return order_line.objects.filter(sku=sku).count()


def _count_orders() -> int:
    from orders.models import Order

    return Order.objects.count()
