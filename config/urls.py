from django.contrib import admin
from django.urls import include, path

from config.metrics import metrics_view
from readmodels.api import Health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("config.api_urls")),
    path("healthz", Health.as_view(), name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("staff/", include("orders.staff_urls")),
    path("", include("orders.urls")),
    path("", include("catalog.urls")),
]
