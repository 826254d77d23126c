from django.urls import path

from config.urls import urlpatterns as app_urlpatterns
from tests.bench.baseline import BaselinePlaceOrder, BaselineProductList

urlpatterns = [
    path("bench/baseline/products/", BaselineProductList.as_view()),
    path("bench/baseline/orders/", BaselinePlaceOrder.as_view()),
    *app_urlpatterns,
]
