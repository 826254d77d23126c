from django.db import migrations


class Migration(migrations.Migration):
    """Sign-up treats "Bob" and "bob" as one name; so does the database now, so two sign-ups
    racing past the check cannot both succeed (the second gets an IntegrityError, which
    register_customer reports as username_taken)."""

    dependencies = [
        ("orders", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE UNIQUE INDEX auth_user_username_lower_uniq ON auth_user (lower(username))",
            "DROP INDEX auth_user_username_lower_uniq",
        ),
    ]
