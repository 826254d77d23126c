from django.contrib import admin
from django.urls import include, path

from api import health
from config.metrics import metrics_view
from pages.forms import LimitedAdminAuthenticationForm
from readmodels.api import Health, ProjectionHealth

admin.site.login_form = LimitedAdminAuthenticationForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("config.api_urls")),
    path("healthz", Health.as_view(), name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("healthz/live", health.live, name="healthz-live"),
    path("healthz/ready", health.ready, name="healthz-ready"),
    path("healthz/projections", ProjectionHealth.as_view(), name="healthz-projections"),
    path("staff/", include("orders.staff_urls")),
    path("", include("orders.urls")),
    path("", include("catalog.urls")),
]

handler403 = "pages.error_pages.permission_denied"
handler404 = "pages.error_pages.page_not_found"
handler500 = "pages.error_pages.server_error"
