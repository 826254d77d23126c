import dataclasses
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from catalog.events import CategoryCreated
from core.eventlog import ORIGIN, Position, _PayloadEncoder, record
from orders.address import ShippingAddress
from orders.events import OrderPlaced
from readmodels.log import horizon_position, positions_after
from readmodels.models import DomainEvent


def test_events_carry_type_version_aggregate_metadata_and_transaction_id(staff, category):
    event = DomainEvent.objects.get()
    assert event.event_type == "CategoryCreated"
    assert event.event_version == 1
    assert (event.aggregate_type, event.payload["slug"]) == ("category", "coffee")
    assert event.metadata["actor"]["username"] == "staffer"
    assert event.metadata["correlation_id"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text")
        assert event.txid == int(cursor.fetchone()[0])  # the test's own transaction wrote it


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE readmodels_domainevent SET payload = '{}'",
        "UPDATE readmodels_domainevent SET event_type = 'Forged'",
        "DELETE FROM readmodels_domainevent",
    ],
)
def test_the_log_refuses_update_and_delete_even_with_raw_sql(category, sql):
    before = list(DomainEvent.objects.values())
    with (
        pytest.raises(DatabaseError, match="append_only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert list(DomainEvent.objects.values()) == before


def test_record_outside_a_transaction_is_refused(transactional_db):
    with pytest.raises(RuntimeError, match="inside the command's transaction"):
        record(CategoryCreated(category_id=1, name="x", slug="x"), actor=None)
    assert not DomainEvent.objects.exists()


@pytest.mark.parametrize("token", ["", "12", "a-1", "1-b", "1-2-3", "-1-2", None])
def test_malformed_tokens_are_rejected(token):
    with pytest.raises(ValueError):
        Position.parse(token)


def test_tokens_round_trip_and_order_by_transaction_first():
    assert Position.parse(str(Position(7, 3))) == Position(7, 3)
    assert Position(7, 100) < Position(8, 1)


def test_positions_come_in_numeric_transaction_order(db):
    """As text, transaction id '10' sorts before '9': the log must compare them as numbers."""
    with connection.cursor() as cursor:
        for txid in ("10", "9"):
            cursor.execute(
                f"""
                INSERT INTO {DomainEvent._meta.db_table} (event_type, event_version, aggregate_type,
                    aggregate_id, payload, metadata, txid)
                VALUES ('CategoryCreated', 1, 'category', '1', '{{}}', '{{}}', %s::xid8)
                """,
                [txid],
            )
    positions = positions_after(ORIGIN, limit=10)
    assert [position.txid for position in positions[:2]] == [9, 10]
    assert horizon_position().txid >= 10


def test_a_payload_is_written_exactly_as_dataclasses_asdict_would_give_it():
    """Payloads are written from the fields as they are, without asdict's deep copy: nested
    dataclasses, tuples, decimals and datetimes (to the microsecond) come out the same."""
    address = ShippingAddress(
        name="Ada", line1="1 Road", line2="", postal_code="1", city="Town", country="DE"
    )
    event = OrderPlaced(
        order_id=7,
        customer_id=3,
        version=1,
        lines=[{"sku": "A", "product_id": 1, "quantity": 2, "unit_price": Decimal("9.99")}],
        total=Decimal("19.98"),
        currency="EUR",
        placed_at=datetime(2026, 11, 30, 9, 0, 0, 123456, tzinfo=UTC),
        shipping_address=address,  # a dataclass inside a payload
    )
    assert json.loads(event.payload_json()) == json.loads(
        json.dumps(dataclasses.asdict(event), cls=_PayloadEncoder)
    )
    assert json.loads(event.payload_json())["shipping_address"]["city"] == "Town"
    assert json.loads(event.payload_json())["placed_at"].endswith(".123456+00:00")
