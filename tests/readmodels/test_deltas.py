"""The read side by deltas: each event has its effect exactly once, whatever runs, replays and
rebuilds do around it, and `--verify` says which of its three sources disagrees."""

from decimal import Decimal

import pgtrigger
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from orders import commands as orders
from readmodels import engine, rebuild, status
from readmodels.log import aggregate_history
from readmodels.models import (
    DeadLetter,
    DomainEvent,
    OrderSummary,
    ProductSummary,
    ProjectionCheckpoint,
)
from readmodels.projections import PROJECTIONS
from tests.conftest import wait_until
from tests.helpers import (
    ADDRESS,
    PauseAfter,
    in_thread,
    record_unreadable_order,
    waiting_for_locks,
)

pytestmark = pytest.mark.django_db(transaction=True)


def buy(customer, sku, quantity=1):
    return orders.place_order(
        actor=customer, lines=[{"sku": sku, "quantity": quantity}], shipping_address=ADDRESS
    )


def units_sold(sku) -> int:
    return ProductSummary.objects.get(sku=sku).units_sold


def assert_no_drift():
    for projection in PROJECTIONS.values():
        assert [str(drift) for drift in rebuild.verify(projection)] == [], projection.name


def test_rebuild_projections_rebuilds_only_the_projection_it_is_given(make_product, capsys):
    make_product()
    engine.run_all()
    before = {cp.name: cp.updated_at for cp in ProjectionCheckpoint.objects.all()}

    call_command("rebuild_projections", "order_summary")

    after = {cp.name: cp.updated_at for cp in ProjectionCheckpoint.objects.all()}
    assert [name for name in after if after[name] != before[name]] == ["order_summary"]
    assert "order_summary: " in capsys.readouterr().out
    with pytest.raises(CommandError, match="unknown projection nonsense"):
        call_command("rebuild_projections", "nonsense")
    call_command("rebuild_projections", "--verify", "product_summary")
    assert capsys.readouterr().out.strip() == "product_summary: no drifted rows"


def test_a_dead_letter_replayed_late_counts_once_and_a_second_replay_does_nothing(
    make_product, make_customer, settings, monkeypatch
):
    settings.PROJECTION_MAX_ATTEMPTS = 1
    settings.PROJECTION_DEAD_LETTER_AFTER_SECONDS = 0
    sku = make_product(stock=100)
    buyer = make_customer()
    buy(buyer, sku, 2)
    poison = buy(buyer, sku, 3)
    buy(buyer, sku, 4)
    projection = PROJECTIONS["product_summary"]
    real_apply = type(projection).apply_statements

    def buggy_apply(self, events):
        if self is projection and any(e.event_id == poison.token.event_id for e in events):
            raise ValueError("projector bug")
        return real_apply(self, events)

    monkeypatch.setattr(type(projection), "apply_statements", buggy_apply)
    engine.run_projection(projection)  # dead-lettered at once, and the run moves on
    assert units_sold(sku) == 6
    assert DeadLetter.objects.get(event_id=poison.token.event_id).status == "dead"
    # A rebuild meanwhile leaves the dead letter out of its fold, for the replay to apply.
    rebuild.rebuild(projection)
    assert units_sold(sku) == 6

    monkeypatch.undo()
    buy(buyer, sku, 5)
    assert engine.replay_dead_letters(["product_summary"]) == (1, 0)
    assert units_sold(sku) == 9  # the late delta, and not yet the newer order
    # The rebuild and the replay changed rows without moving the position: ETags must change.
    assert ProjectionCheckpoint.objects.get(name="product_summary").generation == 2
    assert engine.replay_dead_letters() == (0, 0)
    engine.run_all()
    assert units_sold(sku) == 14
    assert_no_drift()


def test_a_replay_waits_for_the_run_in_progress_instead_of_interleaving(
    make_product, make_customer, settings, monkeypatch
):
    settings.PROJECTION_MAX_ATTEMPTS = 1
    settings.PROJECTION_DEAD_LETTER_AFTER_SECONDS = 0
    sku = make_product(stock=100)
    buyer = make_customer()
    poison = buy(buyer, sku, 1)
    projection = PROJECTIONS["product_summary"]
    real_apply = type(projection).apply_statements
    monkeypatch.setattr(
        type(projection),
        "apply_statements",
        lambda self, events: (
            (_ for _ in ()).throw(ValueError("bug"))
            if any(e.event_id == poison.token.event_id for e in events)
            else real_apply(self, events)
        ),
    )
    engine.run_projection(projection)
    monkeypatch.undo()
    buy(buyer, sku, 10)  # a run will apply this while the replay is asked for

    pause = PauseAfter(monkeypatch, projection, "apply_statements")
    runner = in_thread(lambda: engine.run_projection(projection))
    assert pause.reached.wait(10)
    replayed = []
    replayer = in_thread(lambda: replayed.append(engine.replay_dead_letters(["product_summary"])))
    try:
        # The replay is blocked on the checkpoint lock that the run holds.
        wait_until(lambda: waiting_for_locks() == 1)
        assert replayed == []
    finally:
        pause.release.set()
        runner.join()
        replayer.join()
    assert replayed == [(1, 0)]
    assert units_sold(sku) == 11
    assert_no_drift()


def test_a_rebuild_racing_live_runs_neither_loses_nor_doubles(
    make_product, make_customer, monkeypatch
):
    sku = make_product(stock=1000)
    buyer = make_customer()
    for quantity in (1, 2, 3):
        buy(buyer, sku, quantity)
    engine.run_all()
    projection = PROJECTIONS["product_summary"]
    pause = PauseAfter(monkeypatch, projection, "fold")
    rebuilder = in_thread(lambda: rebuild.rebuild(projection))
    try:
        assert pause.reached.wait(10)
        buy(buyer, sku, 10)  # committed after the rebuild's horizon, before its commit
        assert engine.run_projection(projection) == 0  # the rebuild holds the projection
    finally:
        pause.release.set()
        rebuilder.join()
    monkeypatch.undo()
    assert units_sold(sku) == 6
    assert engine.run_projection(projection) == 1
    assert units_sold(sku) == 16
    assert_no_drift()


def _as_version_1(event_type: str):
    """Rewrite the stored events of a type as the version-1 code wrote them (an old database)."""
    with (
        transaction.atomic(),
        pgtrigger.ignore("readmodels.DomainEvent:append_only"),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE readmodels_domainevent SET event_version = 1,"
            " payload = payload - 'placed_at' - 'shipping_address'"
            " WHERE event_type = %s",
            [event_type],
        )


def test_version_1_events_are_upcast_and_an_old_database_rebuilds_verifies_and_projects(
    staff, make_product, make_customer
):
    sku = make_product(stock=100, price="2.50")
    buyer = make_customer()
    first = buy(buyer, sku, 2)
    orders.pay_order(actor=buyer, order_id=first.id, amount="5.00", payment_reference="P-1")
    cancelled = buy(buyer, sku, 3)
    orders.cancel_order(actor=buyer, order_id=cancelled.id, reason="changed my mind")
    engine.run_all()
    _as_version_1("OrderPlaced")
    assert not DomainEvent.objects.filter(event_type="OrderPlaced", payload__has_key="placed_at")

    # Readers see the current shape, with the order's own placed_at.
    placed = aggregate_history("order", first.id)[0]
    assert placed.event_version == 1
    order_row = OrderSummary.objects.get(order_id=first.id)
    assert placed.payload["placed_at"].startswith(order_row.placed_at.isoformat()[:19])

    for projection in PROJECTIONS.values():
        rebuild.rebuild(projection)
    assert_no_drift()
    summary = ProductSummary.objects.get(sku=sku)
    assert (summary.units_sold, summary.revenue, summary.order_count) == (2, Decimal("5.00"), 1)
    assert summary.last_ordered_at == OrderSummary.objects.get(order_id=cancelled.id).placed_at

    # A version-1 order paid after the upgrade is projected from its upcast payload too.
    old = buy(buyer, sku, 4)
    engine.run_all()
    _as_version_1("OrderPlaced")
    orders.pay_order(actor=buyer, order_id=old.id, amount="10.00", payment_reference="P-2")
    engine.run_all()
    assert ProductSummary.objects.get(sku=sku).revenue == Decimal("15.00")
    assert_no_drift()


def test_verify_names_the_source_that_disagrees(staff, make_product, make_customer):
    sku = make_product(stock=100)
    other = make_product(stock=100)
    buyer = make_customer()
    buy(buyer, sku, 2)
    buy(buyer, other, 1)
    engine.run_all()
    projection = PROJECTIONS["product_summary"]

    # A live row edited behind the projector's back.
    with transaction.atomic(), pgtrigger.ignore(projection.trigger_uri):
        ProductSummary.objects.filter(sku=sku).update(units_sold=99)
    # An order line changed in the tables with no event: the log and the tables disagree.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE orders_orderline SET quantity = 7 WHERE sku = %s", [other])

    drift = {row.key: row for row in rebuild.verify(projection)}
    by_sku = {ProductSummary.objects.get(sku=s).product_id: s for s in (sku, other)}
    live_edit, table_edit = (drift[key] for key in by_sku)
    assert live_edit.culprit == "live"
    assert live_edit.values == {"units_sold": {"live": 99, "log": 2, "tables": 2}}
    assert table_edit.culprit == "tables"
    assert "event log and the tables disagree" in table_edit.problem
    assert table_edit.values == {"units_sold": {"live": 1, "log": 1, "tables": 7}}

    with pytest.raises(CommandError, match="2 rows drifted"):
        call_command("rebuild_projections", "product_summary", verify=True)


def test_a_one_word_search_ranks_like_ranking_every_match(staff, make_product):
    from django.contrib.postgres.search import SearchQuery, SearchRank
    from django.db.models import F

    from catalog.queries import list_products

    for name in ["Kenya filter roast", "Filter papers", "Kenya Kenya AA", "Espresso roast"]:
        make_product(name=name)
    engine.run_all()
    for word in ["kenya", "roast", "filter", "Roasts", "espresso", "the", "nothing"]:
        query = SearchQuery(word, search_type="websearch", config="english")
        ranked = (
            ProductSummary.objects.filter(active=True, search_document__search_vector=query)
            .annotate(rank=SearchRank(F("search_document__search_vector"), query))
            .order_by("-rank", "product_id")
        )
        assert [p.sku for p in list_products(q=word)] == [p.sku for p in ranked], word
    assert len(list_products(q="kenya")) == 2


def test_a_long_rebuild_of_one_projection_does_not_hold_the_others_back(
    make_product, make_customer, monkeypatch
):
    sku = make_product(stock=100)
    buyer = make_customer()
    engine.run_all()
    projection = PROJECTIONS["category_summary"]
    pause = PauseAfter(monkeypatch, projection, "fold")  # its rows written: it holds an xid
    rebuilder = in_thread(lambda: rebuild.rebuild(projection))
    try:
        assert pause.reached.wait(10)
        order = buy(buyer, sku, 2)
        others = [name for name in PROJECTIONS if name != "category_summary"]
        applied = engine.run_all(others)
        assert applied["order_summary"] == applied["product_summary"] == 1
        assert OrderSummary.objects.filter(order_id=order.id).exists()
        assert units_sold(sku) == 2
        _, holders = status.projection_status()
        assert holders == []  # nothing holds the horizon back
    finally:
        pause.release.set()
        rebuilder.join()
    monkeypatch.undo()
    engine.run_all()
    assert_no_drift()


def test_verify_reports_a_projection_it_cannot_fold_instead_of_a_traceback(
    make_product, make_customer, capsys
):
    sku = make_product(stock=100)
    buyer = make_customer()
    order = buy(buyer, sku, 1)
    engine.run_all()
    record_unreadable_order(order.id)
    with pytest.raises(CommandError, match="1 projections not verified"):
        call_command("rebuild_projections", "daily_sales", verify=True)
    assert "daily_sales: could not verify:" in capsys.readouterr().out
