"""Staff screens for customers and orders; every save and action runs an orders command."""

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from orders import commands
from orders.models import Customer, Order, OrderLine
from pages.admin import CommandAdmin, CommandForm


class CustomerAddForm(CommandForm):
    username = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, strip=False)

    class Meta:
        model = Customer
        fields = ["username", "display_name", "email", "password"]

    def run_command(self, data):
        return commands.register_customer(
            actor=self.actor,
            username=data["username"],
            email=data["email"],
            password=data["password"],
            display_name=data["display_name"],
        )


@admin.register(Customer)
class CustomerAdmin(CommandAdmin):
    add_form = CustomerAddForm  # no command edits a customer: the change page is view-only
    list_display = ["display_name", "email", "user", "created_at"]
    search_fields = ["display_name", "email", "user__username"]


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    fields = ["sku", "product_name", "quantity", "unit_price"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ShipForm(forms.Form):
    tracking_number = forms.CharField(max_length=64)


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=500)


@admin.register(Order)
class OrderAdmin(CommandAdmin):
    """Orders are placed by customers; staff move them on with the actions."""

    list_display = ["id", "customer", "status", "total", "placed_at", "tracking_number"]
    list_filter = ["status", "placed_at"]
    search_fields = ["id", "customer__display_name", "customer__email", "tracking_number"]
    inlines = [OrderLineInline]
    actions = ["ship", "deliver", "cancel"]
    readonly_fields = ["history"]

    @admin.display(description="history")
    def history(self, order):
        url = (
            reverse("staff:audit")
            + "?"
            + urlencode({"aggregate_type": "order", "aggregate_id": order.pk})
        )
        return format_html('<a href="{}">Its events in the audit trail</a>', url)

    def has_move_on_permission(self, request) -> bool:
        # Only offered to who the commands accept; the commands check it again.
        return request.user.has_perm(commands.CHANGE_ORDER)

    def _with_input(self, request, queryset, form_class, title, run):
        """Actions that need input (a tracking number, a reason) ask for it on a page of their
        own, then run the command for each order."""
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self.run_per_object(request, queryset, lambda order: run(order, form.cleaned_data), str)
            return None
        return TemplateResponse(
            request,
            "admin/orders/order/action_input.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "opts": self.opts,
                "form": form,
                "orders": queryset,
                "action": request.POST["action"],
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description="Ship selected orders", permissions=["move_on"])
    def ship(self, request, queryset):
        return self._with_input(
            request,
            queryset,
            ShipForm,
            "Ship orders",
            lambda order, data: commands.ship_order(
                actor=request.user, order_id=order.pk, tracking_number=data["tracking_number"]
            ),
        )

    @admin.action(description="Mark selected orders delivered", permissions=["move_on"])
    def deliver(self, request, queryset):
        self.run_per_object(
            request,
            queryset,
            lambda order: commands.deliver_order(actor=request.user, order_id=order.pk),
            str,
        )

    @admin.action(description="Cancel selected orders", permissions=["move_on"])
    def cancel(self, request, queryset):
        return self._with_input(
            request,
            queryset,
            CancelForm,
            "Cancel orders",
            lambda order, data: commands.cancel_order(
                actor=request.user, order_id=order.pk, reason=data["reason"]
            ),
        )
