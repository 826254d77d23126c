"""Bench data: a deterministic plan, loaded with COPY (set-based, fast), producing the rows and
events the commands would produce; and a check that it does, against the real commands.

The events are built from the real event dataclasses (catalog.events, orders.events), so their
payload shapes cannot drift; `check_against_commands` compares every row and event the seeder
writes for a small plan with what the commands write for the same plan.
Known, intended differences: timestamps (the commands use now(), the seeder spreads history over
a year), password hashes (one precomputed hash instead of 5,000 PBKDF2 runs), correlation ids.
"""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils.text import slugify

from catalog import events as catalog_events
from orders import events as order_events
from orders.commands import request_digest
from tests.helpers import ADDRESS

PASSWORD = "bench-Passphrase-2026"
WORDS = [
    "coffee",
    "tea",
    "cocoa",
    "mug",
    "kettle",
    "grinder",
    "filter",
    "bean",
    "roast",
    "blend",
    "espresso",
    "latte",
    "cup",
    "saucer",
    "spoon",
    "jar",
    "tin",
    "bag",
    "scale",
    "timer",
    "brush",
    "cloth",
    "tray",
    "pot",
    "press",
    "dripper",
    "carafe",
    "server",
    "lid",
]
ADJECTIVES = [
    "dark",
    "light",
    "smooth",
    "bold",
    "organic",
    "fair",
    "golden",
    "silver",
    "classic",
    "modern",
    "rustic",
    "tiny",
    "large",
    "bright",
    "quiet",
    "rapid",
    "gentle",
]
CATEGORY_WORDS = [
    "Kitchen",
    "Garden",
    "Office",
    "Travel",
    "Outdoor",
    "Bakery",
    "Pantry",
    "Studio",
    "Workshop",
    "Home",
    "Camping",
    "Picnic",
    "Barista",
    "Breakfast",
    "Gift",
]


@dataclasses.dataclass
class PlannedOrder:
    customer: int  # index into plan.customers
    lines: list[tuple[int, int]]  # (product index, quantity), product index ascending
    placed_at: datetime
    status: str  # final status
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancelled_from: str = ""


@dataclasses.dataclass
class Plan:
    categories: list[str]
    products: list[dict]  # sku, name, description, category, price, stock (initial)
    customers: list[str]  # usernames
    orders: list[PlannedOrder]
    discontinued: list[int]  # product indexes, discontinued after every order
    start: datetime


def make_plan(*, orders: int, products: int, categories: int, customers: int, seed=7) -> Plan:
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=400)
    cats = [
        f"{CATEGORY_WORDS[i % len(CATEGORY_WORDS)]} {i // len(CATEGORY_WORDS) + 1}"
        for i in range(categories)
    ]
    prods = []
    for i in range(products):
        name = f"{rng.choice(ADJECTIVES).title()} {rng.choice(WORDS)} {i}"
        prods.append(
            {
                "sku": f"BN-{i:06d}",
                "name": name,
                "description": " ".join(rng.choice(WORDS + ADJECTIVES) for _ in range(12)),
                "category": rng.randrange(categories),
                "price": (Decimal(rng.randrange(100, 50000)) / 100).quantize(Decimal("0.01")),
                "stock": 0,
            }
        )
    planned = []
    span = (now - timedelta(days=4) - (now - timedelta(days=365))).total_seconds()
    for _ in range(orders):
        placed = now - timedelta(days=365) + timedelta(seconds=int(rng.random() * span))
        picked = {int(products * rng.random() ** 2) for _ in range(rng.randint(1, 7))}
        lines = [(p, rng.randint(1, 4)) for p in sorted(picked)]
        roll = rng.random()
        status = (
            "pending"
            if roll < 0.10
            else "paid"
            if roll < 0.25
            else "shipped"
            if roll < 0.40
            else "delivered"
            if roll < 0.90
            else "cancelled"
        )
        order = PlannedOrder(int(customers * rng.random() ** 1.5), lines, placed, status)
        if status != "pending" and not (status == "cancelled" and rng.random() < 0.5):
            order.paid_at = placed + timedelta(minutes=rng.randint(1, 600))
        if status in ("shipped", "delivered"):
            order.shipped_at = order.paid_at + timedelta(hours=rng.randint(12, 30))
        if status == "delivered":
            order.delivered_at = order.shipped_at + timedelta(hours=rng.randint(12, 40))
        if status == "cancelled":
            order.cancelled_from = "paid" if order.paid_at else "pending"
            order.cancelled_at = (order.paid_at or placed) + timedelta(hours=rng.randint(1, 20))
        planned.append(order)
    planned.sort(key=lambda o: o.placed_at)
    ordered = [0] * products
    for order in planned:
        for p, q in order.lines:
            ordered[p] += q
    for i, product in enumerate(prods):
        # Enough for every order ever placed (cancellations give back later), plus some left;
        # a few sell out.
        product["stock"] = ordered[i] + (0 if rng.random() < 0.03 else rng.randint(50, 5000))
    discontinued = sorted(rng.sample(range(products), max(1, products // 50)))
    return Plan(
        cats,
        prods,
        [f"shopper{i}" for i in range(customers)],
        planned,
        discontinued,
        start,
    )


def scale_plan(scale: str) -> Plan:
    if scale == "full":
        return make_plan(orders=100_000, products=10_000, categories=50, customers=5_000)
    return make_plan(orders=1_000, products=500, categories=10, customers=200)


def digest(quantities: dict[str, int]) -> str:
    return request_digest(quantities, ADDRESS)


def _reserve(table: str, count: int) -> int:
    """Take `count` ids from the table's sequence; returns the first."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        (sequence,) = cursor.fetchone()
        cursor.execute("SELECT nextval(%s)", [sequence])
        (first,) = cursor.fetchone()
        if count > 1:
            cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
    return first


def _actor(user_id: int, username: str, staff: bool) -> dict:
    return {"user_id": user_id, "username": username, "staff": staff}


def _copy(table: str, columns: list[str], rows) -> None:
    with (
        connection.cursor() as cursor,
        cursor.connection.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def staff_user():
    User = get_user_model()
    user = User.objects.filter(username="bench-staff").first()
    # A superuser: staff commands need their Django permission (orders.change_order, …).
    return user or User.objects.create_superuser("bench-staff", "staff@example.com", PASSWORD)


@transaction.atomic
class Seeding:
    """The seeder's state between its steps: the ids it reserved, who acts, and the events in
    the order they happened (written last, sorted by time)."""

    currency = "EUR"

    def __init__(self, plan: Plan):
        self.plan = plan
        staff = staff_user()
        self.staff_actor = _actor(staff.pk, staff.username, True)
        self.rng = random.Random(11)
        self.events: list[tuple] = []  # (when, order, event, actor)

    def event(self, when, ev, actor) -> None:
        self.events.append((when, len(self.events), ev, actor))

    def categories(self) -> None:
        self.cat0 = _reserve("catalog_category", len(self.plan.categories))
        cat_rows = []
        for i, name in enumerate(self.plan.categories):
            slug = slugify(name)
            cat_rows.append((self.cat0 + i, name, slug, self.plan.start))
            self.event(
                self.plan.start,
                catalog_events.CategoryCreated(category_id=self.cat0 + i, name=name, slug=slug),
                self.staff_actor,
            )
        _copy("catalog_category", ["id", "name", "slug", "created_at"], cat_rows)

    def products(self) -> None:
        """Products, their stock already less what the plan's orders took."""
        sold = [0] * len(self.plan.products)
        for order in self.plan.orders:
            if order.status != "cancelled":
                for p, q in order.lines:
                    sold[p] += q
        self.prod0 = _reserve("catalog_product", len(self.plan.products))
        discontinued = set(self.plan.discontinued)
        last_day = max(
            (o.placed_at for o in self.plan.orders), default=self.plan.start
        ) + timedelta(days=3)
        prod_rows = []
        for i, p in enumerate(self.plan.products):
            pid, created = self.prod0 + i, self.plan.start + timedelta(seconds=i + 1)
            prod_rows.append(
                (
                    pid,
                    p["sku"],
                    p["name"],
                    slugify(f"{p['name']}-{p['sku']}")[:220],
                    p["description"],
                    self.cat0 + p["category"],
                    p["price"],
                    self.currency,
                    i not in discontinued,
                    p["stock"] - sold[i],
                    2 if i in discontinued else 1,
                    created,
                    last_day if i in discontinued else created,
                )
            )
            self.event(
                created,
                catalog_events.ProductCreated(
                    product_id=pid,
                    sku=p["sku"],
                    name=p["name"],
                    category_id=self.cat0 + p["category"],
                    price=p["price"],
                    currency=self.currency,
                    stock=p["stock"],
                ),
                self.staff_actor,
            )
            if i in discontinued:
                self.event(
                    last_day,
                    catalog_events.ProductDiscontinued(product_id=pid, sku=p["sku"], version=2),
                    self.staff_actor,
                )
        _copy(
            "catalog_product",
            [
                "id",
                "sku",
                "name",
                "slug",
                "description",
                "category_id",
                "price",
                "currency",
                "active",
                "stock",
                "version",
                "created_at",
                "updated_at",
            ],
            prod_rows,
        )

    def customers(self) -> None:
        user0 = _reserve(get_user_model()._meta.db_table, len(self.plan.customers))
        self.cust0 = _reserve("orders_customer", len(self.plan.customers))
        password = make_password(PASSWORD)
        user_rows, cust_rows, self.actors = [], [], []
        for i, username in enumerate(self.plan.customers):
            uid, cid = user0 + i, self.cust0 + i
            email, display = f"{username}@example.com", username.title()
            joined = self.plan.start + timedelta(hours=1, seconds=i)
            user_rows.append((uid, password, False, username, "", "", email, False, True, joined))
            cust_rows.append((cid, uid, display, email, joined))
            self.actors.append(_actor(uid, username, False))
            self.event(
                joined,
                order_events.CustomerRegistered(
                    customer_id=cid,
                    user_id=uid,
                    username=username,
                    display_name=display,
                    email=email,
                ),
                None,
            )
        _copy(
            get_user_model()._meta.db_table,
            [
                "id",
                "password",
                "is_superuser",
                "username",
                "first_name",
                "last_name",
                "email",
                "is_staff",
                "is_active",
                "date_joined",
            ],
            user_rows,
        )
        _copy(
            "orders_customer", ["id", "user_id", "display_name", "email", "created_at"], cust_rows
        )

    def orders(self) -> tuple[int, int]:
        """Orders, their lines and their events, every status the plan has; returns how many
        orders and lines."""
        order0 = _reserve("orders_order", len(self.plan.orders))
        line0 = _reserve("orders_orderline", sum(len(o.lines) for o in self.plan.orders))
        order_rows, line_rows = [], []
        line_id = line0
        for i, o in enumerate(self.plan.orders):
            oid, cid, owner = order0 + i, self.cust0 + o.customer, self.actors[o.customer]
            lines = []
            for p, q in o.lines:
                prod = self.plan.products[p]
                line_rows.append(
                    (line_id, oid, self.prod0 + p, prod["sku"], prod["name"], q, prod["price"])
                )
                line_id += 1
                lines.append(
                    {
                        "sku": prod["sku"],
                        "product_id": self.prod0 + p,
                        "quantity": q,
                        "unit_price": str(prod["price"]),
                    }
                )
            total = sum((self.plan.products[p]["price"] * q for p, q in o.lines), Decimal(0))
            ids = {"order_id": oid, "customer_id": cid}
            version = 1
            self.event(
                o.placed_at,
                order_events.OrderPlaced(
                    **ids,
                    version=1,
                    lines=lines,
                    total=total,
                    currency=self.currency,
                    placed_at=o.placed_at,
                    shipping_address=ADDRESS.as_dict(),
                ),
                owner,
            )
            reference = tracking = ""
            if o.paid_at:
                version += 1
                reference = f"PAY-{i}"
                self.event(
                    o.paid_at,
                    order_events.OrderPaid(
                        **ids, version=version, amount=total, payment_reference=reference
                    ),
                    owner,
                )
            if o.shipped_at:
                version += 1
                tracking = f"TRK-{i}"
                self.event(
                    o.shipped_at,
                    order_events.OrderShipped(**ids, version=version, tracking_number=tracking),
                    self.staff_actor,
                )
            if o.delivered_at:
                version += 1
                self.event(
                    o.delivered_at,
                    order_events.OrderDelivered(**ids, version=version),
                    self.staff_actor,
                )
            reason = ""
            if o.cancelled_at:
                version += 1
                reason = "Changed my mind"
                self.event(
                    o.cancelled_at,
                    order_events.OrderCancelled(
                        **ids,
                        version=version,
                        reason=reason,
                        previous_status=o.cancelled_from,
                        restocked=[
                            {
                                "sku": line["sku"],
                                "product_id": line["product_id"],
                                "quantity": line["quantity"],
                            }
                            for line in lines
                        ],
                    ),
                    owner if o.cancelled_from == "pending" else self.staff_actor,
                )
            quantities = {self.plan.products[p]["sku"]: q for p, q in o.lines}
            order_rows.append(
                (
                    oid,
                    cid,
                    o.status,
                    total,
                    self.currency,
                    o.placed_at,
                    o.paid_at,
                    o.shipped_at,
                    o.delivered_at,
                    o.cancelled_at,
                    tracking,
                    reference,
                    reason,
                    None,
                    digest(quantities),
                    version,
                    *ADDRESS.as_dict().values(),
                )
            )
        _copy(
            "orders_order",
            [
                "id",
                "customer_id",
                "status",
                "total",
                "currency",
                "placed_at",
                "paid_at",
                "shipped_at",
                "delivered_at",
                "cancelled_at",
                "tracking_number",
                "payment_reference",
                "cancel_reason",
                "idempotency_key",
                "request_digest",
                "version",
                *(f"shipping_{part}" for part in ADDRESS.as_dict()),
            ],
            order_rows,
        )
        _copy(
            "orders_orderline",
            ["id", "order_id", "product_id", "sku", "product_name", "quantity", "unit_price"],
            line_rows,
        )
        return len(order_rows), len(line_rows)

    def event_log(self) -> int:
        """The events, in the order they happened; returns how many."""
        self.events.sort(key=lambda e: (e[0], e[1]))
        _copy(
            "readmodels_domainevent",
            [
                "event_type",
                "event_version",
                "aggregate_type",
                "aggregate_id",
                "payload",
                "metadata",
                "occurred_at",
            ],
            (
                (
                    ev.event_type(),
                    ev.schema_version,
                    ev.aggregate_type,
                    ev.aggregate_id,
                    ev.payload_json(),
                    json.dumps(
                        {
                            "actor": actor,
                            "correlation_id": f"{self.rng.getrandbits(128):032x}",
                            "causation_id": None,
                        }
                    ),
                    when,
                )
                for when, _, ev, actor in self.events
            ),
        )
        return len(self.events)


def seed(plan: Plan) -> dict:
    """Write the plan's rows and events, a step at a time. Returns counts."""
    seeding = Seeding(plan)
    seeding.categories()
    seeding.products()
    seeding.customers()
    orders, lines = seeding.orders()
    events = seeding.event_log()
    with connection.cursor() as cursor:
        for table in ("catalog_product", "orders_order", "orders_orderline"):
            cursor.execute(f"ANALYZE {table}")
    return {"orders": orders, "lines": lines, "events": events}


# --- The drift check: the same small plan through the real commands and through the seeder ---


def apply_with_commands(plan: Plan) -> None:
    from catalog import commands as catalog
    from orders import commands as orders

    staff = staff_user()
    for name in plan.categories:
        catalog.create_category(actor=staff, name=name)
    slugs = [slugify(name) for name in plan.categories]
    for p in plan.products:
        catalog.create_product(
            actor=staff,
            sku=p["sku"],
            name=p["name"],
            category=slugs[p["category"]],
            price=p["price"],
            description=p["description"],
            stock=p["stock"],
        )
    User = get_user_model()
    users = []
    for username in plan.customers:
        orders.register_customer(
            username=username,
            email=f"{username}@example.com",
            password=PASSWORD,
            display_name=username.title(),
        )
        users.append(User.objects.get(username=username))
    steps = []  # (when, seq, action)
    for i, o in enumerate(plan.orders):
        steps.append((o.placed_at, len(steps), ("place", i)))
        for kind in ("paid", "shipped", "delivered", "cancelled"):
            when = getattr(o, f"{kind}_at")
            if when:
                steps.append((when, len(steps), (kind, i)))
    steps.sort(key=lambda s: (s[0], s[1]))
    ids = {}
    for _, _, (kind, i) in steps:
        o = plan.orders[i]
        owner = users[o.customer]
        if kind == "place":
            lines = [{"sku": plan.products[p]["sku"], "quantity": q} for p, q in o.lines]
            ids[i] = orders.place_order(actor=owner, lines=lines, shipping_address=ADDRESS).id
        elif kind == "paid":
            total = sum((plan.products[p]["price"] * q for p, q in o.lines), Decimal(0))
            orders.pay_order(
                actor=owner, order_id=ids[i], amount=total, payment_reference=f"PAY-{i}"
            )
        elif kind == "shipped":
            orders.ship_order(actor=staff, order_id=ids[i], tracking_number=f"TRK-{i}")
        elif kind == "delivered":
            orders.deliver_order(actor=staff, order_id=ids[i])
        else:
            actor = owner if o.cancelled_from == "pending" else staff
            orders.cancel_order(actor=actor, order_id=ids[i], reason="Changed my mind")
    for p in plan.discontinued:
        catalog.discontinue_product(actor=staff, sku=plan.products[p]["sku"])


IGNORED = {
    "created_at",
    "updated_at",
    "placed_at",
    "paid_at",
    "shipped_at",
    "delivered_at",
    "cancelled_at",
    "occurred_at",
    "date_joined",
    "last_login",
    "password",
    "txid",
    "last_ordered_at",
    "last_order_at",
    "position",
    "date",
}
SNAPSHOT_TABLES = [
    "auth_user",
    "orders_customer",
    "catalog_category",
    "catalog_product",
    "orders_order",
    "orders_orderline",
    "readmodels_domainevent",
    "readmodels_productsummary",
    "readmodels_ordersummary",
    "readmodels_customersummary",
    "readmodels_categorysummary",
]


SNAPSHOT_KEYS = {
    "readmodels_productsummary": "product_id",
    "readmodels_ordersummary": "order_id",
    "readmodels_customersummary": "customer_id",
    "readmodels_categorysummary": "category_id",
}


def snapshot() -> dict[str, list[dict]]:
    data = {}
    with connection.cursor() as cursor:
        for table in SNAPSHOT_TABLES:
            key = SNAPSHOT_KEYS.get(table, "id")
            cursor.execute(f"SELECT to_jsonb(t) FROM {table} t ORDER BY {key}")
            rows = []
            for (row,) in cursor.fetchall():
                row = json.loads(row) if isinstance(row, str) else row
                row = {k: v for k, v in row.items() if k not in IGNORED}
                if "metadata" in row:
                    row["metadata"] = {**row["metadata"], "correlation_id": None}
                if isinstance(row.get("payload"), dict):  # a timestamp, as in the columns
                    row["payload"].pop("placed_at", None)
                rows.append(row)
            data[table] = rows
        # Daily sales are per day placed (now, for the commands): compare the totals.
        cursor.execute(
            "SELECT SUM(orders_placed), SUM(orders_cancelled), SUM(units_sold), "
            "SUM(gross_revenue)::text, SUM(net_revenue)::text FROM readmodels_dailysales"
        )
        data["daily_sales_totals"] = [list(cursor.fetchone())]
    return data


def reset_database() -> None:
    """Empty every table the bench writes, and restart their id sequences."""
    import pgtrigger

    from readmodels.models import TRUNCATE_GUARDS

    with pgtrigger.ignore(*TRUNCATE_GUARDS), connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE auth_user, orders_customer, catalog_category, catalog_product, "
            "orders_order, orders_orderline, readmodels_domainevent, readmodels_deadletter, "
            "readmodels_projectioncheckpoint, readmodels_productsummary, "
            "readmodels_ordersummary, readmodels_customersummary, readmodels_dailysales, "
            "readmodels_categorysummary, authtoken_token RESTART IDENTITY CASCADE"
        )


def check_against_commands() -> dict:
    """Run one small plan through the commands and through the seeder, from the same empty
    database, and compare every row, event and derived summary. Raises on any difference."""
    from readmodels import engine, rebuild

    plan = make_plan(orders=40, products=12, categories=3, customers=5, seed=3)
    reset_database()
    apply_with_commands(plan)
    for projection in engine.get_projections():
        rebuild.rebuild(projection)
    by_commands = snapshot()
    reset_database()
    seed(plan)
    for projection in engine.get_projections():
        rebuild.rebuild(projection)
    by_seeder = snapshot()
    reset_database()
    for table, rows in by_commands.items():
        other = by_seeder[table]
        if rows != other:
            diff = next(
                ((a, b) for a, b in zip(rows, other, strict=False) if a != b),
                (len(rows), len(other)),
            )
            raise AssertionError(f"seeder drifted from the commands in {table}: {diff}")
    return {table: len(rows) for table, rows in by_commands.items()}
