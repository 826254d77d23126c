from django.contrib import admin
from django.urls import include, path

from config.forms import LimitedAdminAuthenticationForm
from readmodels.api import Health

admin.site.login_form = LimitedAdminAuthenticationForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("config.api_urls")),
    path("healthz", Health.as_view(), name="healthz"),
    path("staff/", include("orders.staff_urls")),
    path("", include("orders.urls")),
    path("", include("catalog.urls")),
]
