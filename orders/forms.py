"""Shape checks for the shopper and staff order pages. Business rules stay in the commands."""

import uuid

from django import forms

from orders.address import COUNTRY_CHOICES, FIELDS, MAX_LENGTHS, OPTIONAL, ShippingAddress
from orders.models import MAX_QUANTITY


class SignUpForm(forms.Form):
    username = forms.CharField(
        max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"})
    )
    display_name = forms.CharField(
        max_length=150, label="Your name", widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(
        error_messages={"invalid": "Enter a valid email address."},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        help_text="At least 8 characters; not a common password.",
    )
    password_again = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        label="Password (again)",
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


def _address_field(part: str, label: str, autocomplete: str, **kwargs) -> forms.CharField:
    # Only the shape here: place_order checks every rule of the address, and its messages go
    # next to these fields (all at once), so no rule is written twice. The limits still size
    # the inputs, and `required` tells assistive technology which parts are needed.
    attrs = {"autocomplete": f"shipping {autocomplete}", "maxlength": MAX_LENGTHS[part]}
    if part not in OPTIONAL:
        attrs["required"] = True
    return forms.CharField(
        label=label, required=False, widget=forms.TextInput(attrs=attrs), **kwargs
    )


class CheckoutForm(forms.Form):
    """The review page's form: where to ship, and the key. The key is made when the review is
    rendered: submitting the same page twice (double click, back and resubmit) sends the same
    key, and place_order returns the first order."""

    idempotency_key = forms.CharField(max_length=100, widget=forms.HiddenInput)
    name = _address_field("name", "Full name", "name")
    line1 = _address_field("line1", "Street and number", "address-line1")
    line2 = _address_field("line2", "Flat, floor, c/o (optional)", "address-line2", empty_value="")
    postal_code = _address_field("postal_code", "Postal code", "postal-code")
    city = _address_field("city", "City", "address-level2")
    country = forms.CharField(
        required=False,
        widget=forms.Select(
            choices=[("", "Choose a country"), *COUNTRY_CHOICES],
            attrs={"autocomplete": "shipping country", "required": True},
        ),
        help_text="We ship to these countries.",
    )

    # The command's field names for this form's address fields.
    COMMAND_FIELDS = {f"shipping_address.{part}": part for part in FIELDS}

    @classmethod
    def fresh(cls, address: dict | None = None):
        return cls(initial={"idempotency_key": uuid.uuid4().hex, **(address or {})})

    @property
    def shipping_address(self) -> ShippingAddress:
        return ShippingAddress(**{part: self.cleaned_data[part] for part in FIELDS})


class PaymentForm(forms.Form):
    """Paying is a confirmation: the amount is the order's total and the reference is made on
    the server (see views.payment_reference), so the shopper types nothing. The form is here
    for the command's refusals, which show on top of it."""


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        label="Why are you cancelling?",
        help_text="A few words help us do better.",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Tell us why you are cancelling."},
    )


class ShipForm(forms.Form):
    tracking_number = forms.CharField(
        max_length=64, error_messages={"required": "Enter the tracking number."}
    )
