from django.db import migrations, models


def forget_unfinished_claims(apps, schema_editor):
    # The old store committed a claim before running the command; a claim whose request died
    # stayed "in progress" for 24 h. Claims are now part of the command's transaction, so a
    # row without a response can only be such a leftover: the key is free again.
    apps.get_model("readmodels", "IdempotentRequest").objects.filter(
        response_status__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("readmodels", "0005_drop_event_type_index"),
    ]

    operations = [
        migrations.RunPython(forget_unfinished_claims, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="idempotentrequest",
            name="response_status",
            field=models.PositiveSmallIntegerField(
                help_text="null only inside the claiming transaction", null=True
            ),
        ),
    ]
