from django.urls import path

from orders import staff_views

app_name = "staff"
urlpatterns = [
    path("", staff_views.dashboard, name="dashboard"),
    path("fulfilment/", staff_views.fulfilment, name="fulfilment"),
    path("fulfilment/<int:order_id>/ship/", staff_views.ship, name="ship"),
    path("fulfilment/<int:order_id>/deliver/", staff_views.deliver, name="deliver"),
]
