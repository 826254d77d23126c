"""The shipping address an order is placed with: a value, its rules and its limits, defined
once. place_order checks them (`clean_address`); the order's columns, the checkout form and the
API's input are sized from the same `MAX_LENGTHS` and `COUNTRIES`."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import NamedTuple


@dataclasses.dataclass(frozen=True, kw_only=True)
class ShippingAddress:
    name: str  # the recipient
    line1: str  # street and number
    line2: str = ""  # flat, floor, c/o: optional
    postal_code: str
    city: str
    country: str  # an ISO 3166-1 alpha-2 code from COUNTRIES

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)

    @property
    def country_name(self) -> str:
        return COUNTRIES[self.country].name if self.country in COUNTRIES else self.country


FIELDS = tuple(field.name for field in dataclasses.fields(ShippingAddress))
OPTIONAL = frozenset({"line2"})
MAX_LENGTHS = {"name": 100, "line1": 100, "line2": 100, "postal_code": 10, "city": 60, "country": 2}


class Country(NamedTuple):
    name: str
    postal_code: re.Pattern  # the shape of a postal code there, after normalize_postal_code
    example: str


# Where the shop ships (it sells in euros): nowhere else is accepted.
COUNTRIES = {
    code: Country(name, re.compile(pattern), example)
    for code, name, pattern, example in [
        ("AT", "Austria", r"\d{4}", "1010"),
        ("BE", "Belgium", r"\d{4}", "1000"),
        ("DE", "Germany", r"\d{5}", "10115"),
        ("ES", "Spain", r"\d{5}", "28001"),
        ("FR", "France", r"\d{5}", "75001"),
        ("IT", "Italy", r"\d{5}", "00118"),
        ("LU", "Luxembourg", r"\d{4}", "1009"),
        ("NL", "Netherlands", r"\d{4} [A-Z]{2}", "1011 AB"),
        ("PT", "Portugal", r"\d{4}-\d{3}", "1000-001"),
    ]
}
COUNTRY_CHOICES = [(code, country.name) for code, country in COUNTRIES.items()]


def normalize_postal_code(text: str) -> str:
    """Upper case, single spaces, and the Dutch space that people often leave out."""
    text = " ".join(text.upper().split())
    return re.sub(r"^(\d{4})([A-Z]{2})$", r"\1 \2", text)


def clean_address(errors: dict, field: str, value) -> ShippingAddress | None:
    """The address with its text trimmed and its postal code normalized, or None with a message
    under `field.<part>` in `errors` for each part that breaks a rule (every part at once)."""
    if isinstance(value, ShippingAddress):
        value = value.as_dict()
    if not isinstance(value, Mapping):
        errors[field] = "Enter a shipping address."
        return None
    cleaned, before = {}, len(errors)
    for part in FIELDS:
        raw = value.get(part)
        text = "" if raw is None else " ".join(str(raw).split())  # no tabs or newlines inside
        key = f"{field}.{part}"
        if not text and part not in OPTIONAL:
            errors[key] = "This field is required."
        elif len(text) > MAX_LENGTHS[part]:
            errors[key] = f"Use at most {MAX_LENGTHS[part]} characters."
        cleaned[part] = text
    country = COUNTRIES.get(cleaned["country"].upper())
    if cleaned["country"] and country is None:
        errors[f"{field}.country"] = "We do not ship there; choose one of the listed countries."
    cleaned["country"] = cleaned["country"].upper()
    cleaned["postal_code"] = normalize_postal_code(cleaned["postal_code"])
    key = f"{field}.postal_code"
    if (
        country
        and cleaned["postal_code"]
        and key not in errors
        and not country.postal_code.fullmatch(cleaned["postal_code"])
    ):
        errors[key] = f"Enter a postal code of {country.name}, such as {country.example}."
    return None if len(errors) > before else ShippingAddress(**cleaned)


def address_json_sql(order: str) -> str:
    """SQL for the address stored on the order row `order` (orders_order) as the JSON object
    events and summaries carry, or NULL for an order placed before addresses were asked for."""
    parts = ", ".join(f"'{part}', {order}.shipping_{part}" for part in FIELDS)
    return f"CASE WHEN {order}.shipping_name = '' THEN NULL ELSE jsonb_build_object({parts}) END"
