"""How the shop shows money, times, order statuses and product pictures, the same on every page."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from babel.numbers import format_currency
from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.html import format_html

register = template.Library()

# One format for every time on the pages, in the shop's time zone and labelled with it.
WHEN_FORMAT = "j M Y, H:i T"
DAY_FORMAT = "j M Y"

# Status -> (what a shopper reads, Bootstrap colour by meaning).
STATUSES = {
    "pending": ("Awaiting payment", "warning"),
    "paid": ("Paid", "primary"),
    "shipped": ("Shipped", "info"),
    "delivered": ("Delivered", "success"),
    "cancelled": ("Cancelled", "secondary"),
}

# Calm, distinct background colours for the generated category pictures (all pass AA with white).
ART_COLOURS = ["#2f5d50", "#7a3e1d", "#3d5a80", "#5b3a70", "#8a2c3b", "#1f3a5f", "#6b4f1d"]


@register.filter
def money(value, currency: str | None = None) -> str:
    """`€19.90`: the amount in the shop's locale and currency (or the given one)."""
    if value is None or value == "":
        return ""
    return format_currency(
        Decimal(value), currency or settings.SHOP_CURRENCY, locale=settings.SHOP_LOCALE
    )


@register.filter
def when(value) -> str:
    """A moment in the shop's time zone, e.g. `30 Nov 2026, 14:05 UTC`."""
    if not value:
        return ""
    return format_date(timezone.localtime(value), WHEN_FORMAT)


@register.filter
def day(value) -> str:
    return format_date(value, DAY_FORMAT) if value else ""


@register.filter
def status_label(status: str) -> str:
    return STATUSES.get(status, (status.title(), "secondary"))[0]


@register.simple_tag
def status_badge(status: str, element_id: str = ""):
    label, colour = STATUSES.get(status, (status.title(), "secondary"))
    return format_html(
        '<span class="badge rounded-pill text-bg-{} status-badge"{} data-status="{}">{}</span>',
        colour,  # text-bg-* picks a text colour that contrasts with the background
        format_html(' id="{}"', element_id) if element_id else "",
        status,
        label,
    )


@register.simple_tag
def category_art(slug: str, name: str, size: str = "card"):
    """A generated picture for a product: its category's initial on the category's colour."""
    digest = int(hashlib.md5(slug.encode(), usedforsecurity=False).hexdigest(), 16)
    colour = ART_COLOURS[digest % len(ART_COLOURS)]
    initial = (name or "?")[:1].upper()
    return format_html(
        '<svg class="product-art product-art-{}" viewBox="0 0 160 100" role="img" '
        'aria-label="{} (picture placeholder)" preserveAspectRatio="xMidYMid slice">'
        '<rect width="160" height="100" fill="{}"/>'
        '<circle cx="128" cy="18" r="40" fill="#fff" fill-opacity=".08"/>'
        '<circle cx="24" cy="96" r="30" fill="#fff" fill-opacity=".06"/>'
        '<text x="80" y="64" text-anchor="middle" font-size="44" font-weight="600" '
        'fill="#fff" font-family="system-ui, sans-serif">{}</text></svg>',
        size,
        name,
        colour,
        initial,
    )


@register.filter
def lag_words(status) -> str:
    """A projection's health as staff read it: "Up to date", "3 s behind (12 events)"."""
    if not status.events_behind:
        return "Up to date"
    events = f"{status.events_behind} event{'' if status.events_behind == 1 else 's'}"
    if status.seconds_behind < 1:
        return f"Catching up ({events})"
    return f"{status.seconds_behind:.0f} s behind ({events})"
