"""What every page's header needs: the shop's name and how many items the cart holds."""

from django.conf import settings

from orders import cart


def shop(request):
    return {
        "shop_name": settings.SHOP_NAME,
        "cart_items": cart.item_count(request.session) if hasattr(request, "session") else 0,
    }
