"""Processes placing orders through `place_order`, for the scenarios that load the commands
(a spawn pool imports this module in each process)."""

from __future__ import annotations

import random
import time

from tests.bench.common import setup


def pool_init():
    setup()


def pool_candidates():
    from catalog.models import Product
    from orders.models import Customer

    skus = list(
        Product.objects.filter(active=True, stock__gte=200)
        .order_by("-stock")
        .values_list("sku", flat=True)[:100]
    )
    users = list(Customer.objects.order_by("id").values_list("user_id", flat=True)[:500])
    return skus, users


def place_one(rng, skus, users, hot=None):
    from django.contrib.auth import get_user_model

    from core.errors import Conflict
    from orders import commands
    from tests.helpers import ADDRESS

    user = get_user_model().objects.select_related("customer").get(pk=rng.choice(users))
    lines = [{"sku": sku, "quantity": 1} for sku in rng.sample(skus, rng.randint(1, 3))]
    if hot:  # the hot product in every order, beside the others
        lines = [{"sku": hot, "quantity": 1}, *(line for line in lines if line["sku"] != hot)]
    try:
        return commands.place_order(actor=user, lines=lines, shipping_address=ADDRESS)
    except Conflict:  # insufficient stock: refused, nothing written
        return None


def write_client(args):
    """Place orders for `seconds`; with record=False the same transaction without the event."""
    mode, seconds, seed_ = args
    from core import eventlog
    from orders import commands

    real_record = eventlog.record
    commands.record = real_record if mode == "real" else (lambda *e, actor: eventlog.ORIGIN)
    rng = random.Random(seed_)
    skus, users = pool_candidates()
    done = refused = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if place_one(rng, skus, users):
            done += 1
        else:
            refused += 1
    commands.record = real_record
    return done, refused


def timed_client(args):
    """Open loop: place order number i at start + i/rate, for i in this client's share;
    returns (order id, wall time of the return after commit, its position) per order."""
    index, clients, rate, count, start, seed_, *hot = args
    rng = random.Random(seed_)
    skus, users = pool_candidates()
    out = []
    for i in range(index, count, clients):
        delay = start + i / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        result = place_one(rng, skus, users, *hot)
        if result:
            out.append((result.id, time.time(), tuple(result.token)))
    return out
