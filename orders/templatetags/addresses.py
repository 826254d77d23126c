"""How an order's shipping address is shown, the same on the order page, fulfilment and review."""

from django import template

from orders.address import COUNTRIES

register = template.Library()


@register.inclusion_tag("includes/address.html")
def shipping_address(address: dict | None, element_id: str = ""):
    """`address` as the order summary holds it (a dict), or None for an order placed before
    checkout asked for one."""
    country = COUNTRIES.get((address or {}).get("country", ""))
    return {
        "address": address,
        "country": country.name if country else (address or {}).get("country"),
        "element_id": element_id,
    }
