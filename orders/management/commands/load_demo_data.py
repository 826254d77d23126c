from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from catalog import commands
from catalog.models import Category
from orders.commands import register_customer
from readmodels import consistency, engine

CATEGORIES = {
    "Coffee": [
        ("COF-ESP-1", "Espresso beans, 1 kg", "19.90", 40, "Dark roast for espresso machines."),
        ("COF-FIL-1", "Filter coffee, 500 g", "9.50", 60, "Light roast with notes of berries."),
        ("COF-DEC-1", "Decaf beans, 500 g", "11.00", 0, "Swiss water process decaf."),
    ],
    "Tea": [
        ("TEA-GRN-1", "Sencha green tea", "7.20", 25, "Steamed Japanese green tea."),
        ("TEA-BLK-1", "Assam breakfast tea", "6.40", 3, "Strong and malty, takes milk well."),
    ],
    "Equipment": [
        ("EQP-GRN-1", "Hand grinder", "59.00", 8, "Steel burrs, adjustable grind."),
        ("EQP-KTL-1", "Gooseneck kettle", "45.00", 12, "For precise pour-over."),
        ("EQP-DRP-1", "Pour-over dripper", "18.00", 30, "Ceramic, fits size 02 filters."),
    ],
}


# Development logins only: `make run` prints them on every start.
STAFF_LOGIN = ("staff", "staff-demo-2026")
SHOPPER_LOGIN = ("shopper", "shopper-demo-2026")


class Command(BaseCommand):
    help = "Load a small demo catalog, a staff login and a customer login, once. Goes through the commands."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load even with DEBUG off (the demo logins have published passwords).",
        )

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to load demo data with DEBUG off: it creates a superuser whose "
                "password is published. Use --force on a throwaway deployment."
            )
        if not Category.objects.exists():
            self._load()
        self._project()
        self.stdout.write(
            self.style.SUCCESS(
                "Demo logins:\n"
                f"  staff:    {STAFF_LOGIN[0]} / {STAFF_LOGIN[1]}   (http://127.0.0.1:8000/admin/)\n"
                f"  shopper:  {SHOPPER_LOGIN[0]} / {SHOPPER_LOGIN[1]}"
            )
        )

    def _load(self):
        User = get_user_model()
        with transaction.atomic():
            staff = User.objects.create_superuser(
                STAFF_LOGIN[0], "staff@example.com", STAFF_LOGIN[1]
            )
            for category, products in CATEGORIES.items():
                commands.create_category(actor=staff, name=category)
                for sku, name, price, stock, description in products:
                    commands.create_product(
                        actor=staff,
                        sku=sku,
                        name=name,
                        category=category.lower(),
                        price=price,
                        stock=stock,
                        description=description,
                    )
            register_customer(
                username=SHOPPER_LOGIN[0],
                email="shopper@example.com",
                password=SHOPPER_LOGIN[1],
                display_name="Sam Shopper",
            )
        self.stdout.write("Demo catalog loaded through the commands.")

    def _project(self):
        """The read side catches up before the command returns: `make run` starts the web server
        next, and the first page a newcomer opens lists the catalog. A worker already running
        may hold a projection: then its run is waited for."""
        engine.run_all()
        head = consistency.head()
        if head and not consistency.wait_for(head, timeout=30):
            raise CommandError(
                "The projections did not catch up within 30 s: see projection_status."
            )
