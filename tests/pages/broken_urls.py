"""The shop's URLs plus one view that fails, to see the 500 page through the real handler."""

from django.urls import path

from config.urls import handler403, handler404, handler500
from config.urls import urlpatterns as shop_urlpatterns


def broken(request):
    raise RuntimeError("a bug")


urlpatterns = [path("broken/", broken), *shop_urlpatterns]
__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]
