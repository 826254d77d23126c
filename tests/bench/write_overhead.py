"""Scenario 6: what recording the event costs a command under load (place_order with and
without it), and that no product is oversold."""

from __future__ import annotations

from tests.bench.common import purge_queue
from tests.bench.pool import write_client


def oversold() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT COUNT(*) FROM catalog_product p
            JOIN (SELECT aggregate_id::bigint AS id, (payload->>'stock')::int AS initial
                  FROM readmodels_domainevent WHERE event_type = 'ProductCreated') e
              ON e.id = p.id
            LEFT JOIN (SELECT l.product_id, SUM(l.quantity) AS q FROM orders_orderline l
                       JOIN orders_order o ON o.id = l.order_id
                       WHERE o.status <> 'cancelled' GROUP BY 1) s ON s.product_id = p.id
            WHERE p.stock < 0 OR p.stock <> e.initial - COALESCE(s.q, 0)
            """
        )
        return cursor.fetchone()[0]


def scenario_write(results, pool, seconds):
    # Four short rounds of each, interleaved, so a neighbour's burst on this shared machine
    # lands on both sides rather than on one long phase.
    totals = {"real": [0, 0], "none": [0, 0]}
    rounds, phase = 4, seconds / 2
    for mode in ("real", "none") * rounds:
        for done, refused in pool.map(write_client, [(mode, phase, i) for i in range(8)]):
            totals[mode][0] += done
            totals[mode][1] += refused
    real = totals["real"][0] / (rounds * phase)
    base = totals["none"][0] / (rounds * phase)
    overhead = 1 - real / base
    bad = oversold()
    if bad:
        results.problem(f"{bad} products oversold or with inconsistent stock")
    results.add(
        "6 write overhead",
        "place_order, 8 clients, with the event",
        real,
        "orders/s",
        base,
        ratio=round(real / base, 3),
        target="overhead ≤ 15%",
        met=overhead <= 0.15 and not bad,
        details={"overhead": round(overhead, 4), "oversold_products": bad, "refused": totals},
    )
    purge_queue()


def drop_orders_without_events() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH ghosts AS (
                SELECT o.id FROM orders_order o WHERE NOT EXISTS (
                    SELECT 1 FROM readmodels_domainevent e
                    WHERE e.aggregate_type = 'order' AND e.aggregate_id = o.id::text
                )
            ), lines AS (
                DELETE FROM orders_orderline WHERE order_id IN (SELECT id FROM ghosts)
            )
            DELETE FROM orders_order WHERE id IN (SELECT id FROM ghosts)
            """
        )
