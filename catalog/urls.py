from django.urls import path

from catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.home, name="home"),
    path("products/<str:sku>/", views.product_detail, name="product"),
]
