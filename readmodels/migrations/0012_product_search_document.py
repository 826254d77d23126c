"""The search vector moves from the product summaries to a table of its own. The vectors
already built are copied over before the table's triggers exist (only projectors may write it
afterwards); the product_document projection then starts from the beginning of the log, and
finds every row already as it would make it."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("readmodels", "0011_order_summary_shipping_address"),
    ]

    operations = [
        migrations.CreateModel(
            name="ProductSearchDocument",
            fields=[
                (
                    "product",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="search_document",
                        serialize=False,
                        to="readmodels.productsummary",
                    ),
                ),
                ("search_vector", django.contrib.postgres.search.SearchVectorField()),
            ],
        ),
        migrations.RunSQL(
            "INSERT INTO readmodels_productsearchdocument (product_id, search_vector) "
            "SELECT product_id, search_vector FROM readmodels_productsummary",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RemoveIndex(
            model_name="productsummary",
            name="product_search_idx",
        ),
        migrations.RemoveField(
            model_name="productsummary",
            name="search_vector",
        ),
        migrations.AddIndex(
            model_name="productsearchdocument",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_vector"], name="product_document_idx"
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="productsearchdocument",
            trigger=pgtrigger.compiler.Trigger(
                name="projector_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot insert or update or delete rows from % table', TG_TABLE_NAME;",
                    hash="dbd00c926d604253bfcabd3274cedeb89debc468",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_projector_only_3fec9",
                    table="readmodels_productsearchdocument",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="productsearchdocument",
            trigger=pgtrigger.compiler.Trigger(
                name="no_truncate",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot truncate % table', TG_TABLE_NAME;",
                    hash="5ec69f61f955387cc478cf67e0dba4554549d23e",
                    level="STATEMENT",
                    operation="TRUNCATE",
                    pgid="pgtrigger_no_truncate_55047",
                    table="readmodels_productsearchdocument",
                    when="BEFORE",
                ),
            ),
        ),
    ]
