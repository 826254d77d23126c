"""An ETag changes whenever the rows can, also when a rebuild or a replay changes them at the
same checkpoint position."""

import pgtrigger
import pytest
from django.db import transaction

from readmodels import engine, rebuild
from readmodels.models import ProductSummary
from readmodels.projections import PROJECTIONS

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_rebuild_at_the_same_position_changes_the_etag(api, make_product):
    sku = make_product()
    engine.run_all()
    with transaction.atomic(), pgtrigger.ignore("readmodels.ProductSummary:projector_only"):
        ProductSummary.objects.filter(sku=sku).update(stock=0)  # drift, to be repaired
    first = api.get("/api/products/")
    assert first.json()["results"][0]["stock"] == 0

    rebuild.rebuild(PROJECTIONS["product_summary"])  # nothing new in the log: same position

    again = api.get("/api/products/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200 and again["ETag"] != first["ETag"]
    assert again.json()["results"][0]["stock"] == 100
