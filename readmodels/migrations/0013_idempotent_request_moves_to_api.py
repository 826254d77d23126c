# The Idempotency-Key store is the API's (api.models.IdempotentRequest, same table): the read
# side forgets the model without touching the table.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("readmodels", "0012_product_search_document"),
        ("api", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="IdempotentRequest")],
        ),
    ]
