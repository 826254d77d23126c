from django.urls import path

from orders import audit_views, staff_views

app_name = "staff"
urlpatterns = [
    path("", staff_views.dashboard, name="dashboard"),
    path("fulfilment/", staff_views.fulfilment, name="fulfilment"),
    path("fulfilment/<int:order_id>/ship/", staff_views.ship, name="ship"),
    path("fulfilment/<int:order_id>/deliver/", staff_views.deliver, name="deliver"),
    path("audit/", audit_views.audit_trail, name="audit"),
    path("products/<str:sku>/", audit_views.product_history, name="product-history"),
]
