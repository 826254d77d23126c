from django.contrib import admin
from django.urls import include, path

from config import health
from readmodels.api import Health, ProjectionHealth

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("config.api_urls")),
    path("healthz", Health.as_view(), name="healthz"),
    path("healthz/live", health.live, name="healthz-live"),
    path("healthz/ready", health.ready, name="healthz-ready"),
    path("healthz/projections", ProjectionHealth.as_view(), name="healthz-projections"),
    path("staff/", include("orders.staff_urls")),
    path("", include("orders.urls")),
    path("", include("catalog.urls")),
]
