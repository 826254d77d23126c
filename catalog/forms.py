"""Shape checks for the catalog pages."""

from django import forms

from catalog.queries import list_categories
from orders.models import MAX_QUANTITY

SORT_CHOICES = [
    ("", "Best match / name"),
    ("name", "Name"),
    ("price", "Price: low to high"),
    ("-price", "Price: high to low"),
    ("-units_sold", "Most popular"),
]


class CatalogFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    category = forms.ChoiceField(required=False, label="Category")
    min_price = forms.DecimalField(
        required=False, min_value=0, max_digits=12, decimal_places=2, label="Min price"
    )
    max_price = forms.DecimalField(
        required=False, min_value=0, max_digits=12, decimal_places=2, label="Max price"
    )
    in_stock = forms.BooleanField(required=False, label="In stock only")
    sort = forms.ChoiceField(required=False, choices=SORT_CHOICES, label="Sort by")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "All categories")] + [
            (category.slug, category.name) for category in list_categories()
        ]

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("min_price"), cleaned.get("max_price")
        if low is not None and high is not None and low > high:
            self.add_error("max_price", "Must not be below the minimum price.")
        return cleaned


class AddToCartForm(forms.Form):
    quantity = forms.IntegerField(
        min_value=1,
        max_value=MAX_QUANTITY,
        initial=1,
        error_messages={
            "required": "Enter how many you want.",
            "invalid": "Enter a whole number.",
            "min_value": "Enter at least 1.",
            "max_value": f"You can order at most {MAX_QUANTITY} at a time.",
        },
    )

    @classmethod
    def for_product(cls, product, data=None):
        """The quantity field offers no more than the stock the catalog shows. That is a hint
        for the browser; the cart caps what it holds, and place_order checks the real stock."""
        form = cls(data)
        if product.stock > 0:
            form.fields["quantity"].widget.attrs["max"] = min(product.stock, MAX_QUANTITY)
        return form
