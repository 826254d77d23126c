"""The app's URLs plus one view that fails, to see what an unhandled error answers."""

from django.urls import path

from config.urls import urlpatterns as app_urlpatterns


def boom(request):
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", boom), *app_urlpatterns]
