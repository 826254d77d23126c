from django.urls import path

from config.urls import urlpatterns as app_urlpatterns
from tests.bench.baseline import BaselineProductList

urlpatterns = [
    path("bench/baseline/products/", BaselineProductList.as_view()),
    *app_urlpatterns,
]
