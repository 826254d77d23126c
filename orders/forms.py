"""Shape checks for the shopper and staff order pages. Business rules stay in the commands."""

import uuid

from django import forms

from orders.cart import MAX_QUANTITY


class SignUpForm(forms.Form):
    username = forms.CharField(max_length=150)
    display_name = forms.CharField(max_length=150, label="Your name")
    email = forms.EmailField(error_messages={"invalid": "Enter a valid email address."})
    password = forms.CharField(widget=forms.PasswordInput, strip=False)
    password_again = forms.CharField(
        widget=forms.PasswordInput, strip=False, label="Password (again)"
    )

    def clean(self):
        cleaned = super().clean()
        password, again = cleaned.get("password"), cleaned.get("password_again")
        if password and again and password != again:
            self.add_error("password_again", "The two passwords do not match.")
        return cleaned


class CartQuantityForm(forms.Form):
    quantity = forms.IntegerField(
        min_value=1,
        max_value=MAX_QUANTITY,
        error_messages={
            "required": "Enter a quantity.",
            "invalid": "Enter a whole number.",
            "min_value": "Enter at least 1, or remove the line.",
            "max_value": f"You can order at most {MAX_QUANTITY} of one product.",
        },
    )


class CheckoutForm(forms.Form):
    """The key is made when the cart page is rendered: submitting the same page twice (double
    click, back and resubmit) sends the same key, and place_order returns the first order."""

    idempotency_key = forms.CharField(max_length=100, widget=forms.HiddenInput)

    @classmethod
    def fresh(cls):
        return cls(initial={"idempotency_key": uuid.uuid4().hex})


class PaymentForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        error_messages={
            "required": "Enter the amount to pay.",
            "invalid": "Enter an amount such as 12.50.",
            "max_decimal_places": "Enter an amount with at most two decimal places.",
        },
    )
    payment_reference = forms.CharField(
        max_length=64,
        label="Payment reference",
        error_messages={"required": "Enter the payment reference."},
    )

    @classmethod
    def for_order(cls, order):
        return cls(
            initial={"amount": order.total, "payment_reference": f"PAY-{uuid.uuid4().hex[:10]}"}
        )


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        label="Why are you cancelling?",
        error_messages={"required": "Tell us why you are cancelling."},
    )


class ShipForm(forms.Form):
    tracking_number = forms.CharField(
        max_length=64, error_messages={"required": "Enter the tracking number."}
    )
