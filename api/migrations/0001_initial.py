# The Idempotency-Key store moves from the read side's app to the API's: the table stays as it
# is (readmodels_idempotentrequest), only Django's idea of which app owns the model changes.

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("readmodels", "0010_search_terms_no_truncate"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="IdempotentRequest",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "scope",
                            models.CharField(
                                help_text="user:<id>, or anon:<address>", max_length=100
                            ),
                        ),
                        ("key", models.CharField(max_length=255)),
                        (
                            "fingerprint",
                            models.CharField(
                                help_text="method, path and body digest", max_length=64
                            ),
                        ),
                        (
                            "response_status",
                            models.PositiveSmallIntegerField(
                                help_text="null only inside the claiming transaction", null=True
                            ),
                        ),
                        ("response_body", models.JSONField(null=True)),
                        ("response_headers", models.JSONField(default=dict)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        "db_table": "readmodels_idempotentrequest",
                        "indexes": [
                            models.Index(fields=["created_at"], name="idempotency_created_idx")
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("scope", "key"), name="one_request_per_idempotency_key"
                            )
                        ],
                    },
                ),
            ],
        ),
    ]
