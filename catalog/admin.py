"""Staff screens for categories and products; every save and action runs a catalog command."""

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from catalog import commands
from catalog.models import Category, Product
from pages.admin import CommandAdmin, CommandForm


class CategoryAddForm(CommandForm):
    class Meta:
        model = Category
        fields = ["name", "slug"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["slug"].help_text = "Leave empty to make one from the name."

    def run_command(self, data):
        return commands.create_category(actor=self.actor, name=data["name"], slug=data["slug"])


@admin.register(Category)
class CategoryAdmin(CommandAdmin):
    add_form = CategoryAddForm  # no command renames a category: the change page is view-only
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]


class ProductAddForm(CommandForm):
    class Meta:
        model = Product
        fields = ["sku", "name", "category", "price", "stock", "description"]

    def run_command(self, data):
        return commands.create_product(
            actor=self.actor,
            sku=data["sku"],
            name=data["name"],
            category=data["category"].slug,
            price=data["price"],
            stock=data["stock"],
            description=data["description"],
        )


class ProductChangeForm(CommandForm):
    confirm_large_cut = forms.BooleanField(
        required=False, label="Confirm a price cut of more than 50%"
    )
    restock_quantity = forms.IntegerField(required=False, min_value=1, label="Add stock")
    restock_reason = forms.CharField(required=False, max_length=200, label="Reason for restock")
    # The version the form was rendered at: a save over someone else's change is a conflict.
    expected_version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Product
        fields = ["name", "category", "price", "description"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expected_version"].initial = self.instance.version

    def clean(self):
        data = super().clean()
        if data.get("restock_quantity") and not data.get("restock_reason"):
            self.add_error("restock_reason", "Say why the stock goes up.")
        return data

    def run_command(self, data):
        sku, version = self.instance.sku, data["expected_version"]
        result = commands.update_product_details(
            actor=self.actor,
            sku=sku,
            name=data["name"],
            description=data["description"],
            category=data["category"].slug,
            expected_version=version,
        )
        result = commands.change_price(
            actor=self.actor,
            sku=sku,
            price=data["price"],
            confirm_large_cut=data["confirm_large_cut"],
            expected_version=result.version,
        )
        if data.get("restock_quantity"):
            result = commands.restock(
                actor=self.actor,
                sku=sku,
                quantity=data["restock_quantity"],
                reason=data["restock_reason"],
                expected_version=result.version,
            )
        return result


@admin.register(Product)
class ProductAdmin(CommandAdmin):
    add_form = ProductAddForm
    change_form = ProductChangeForm
    list_display = ["sku", "name", "category", "price", "stock", "active", "version"]
    list_filter = ["active", "category"]
    search_fields = ["sku", "name"]
    actions = ["discontinue", "reactivate"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["sku", "stock", "active", "version", "history"]

    @admin.display(description="history")
    def history(self, product):
        url = reverse("staff:product-history", args=[product.sku])
        return format_html('<a href="{}">Price and stock over time, and who changed them</a>', url)

    @admin.action(description="Discontinue selected products", permissions=["change"])
    def discontinue(self, request, queryset):
        self.run_per_object(
            request,
            queryset,
            lambda product: commands.discontinue_product(actor=request.user, sku=product.sku),
            lambda product: product.sku,
        )

    @admin.action(description="Reactivate selected products", permissions=["change"])
    def reactivate(self, request, queryset):
        self.run_per_object(
            request,
            queryset,
            lambda product: commands.reactivate_product(actor=request.user, sku=product.sku),
            lambda product: product.sku,
        )
