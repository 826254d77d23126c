from django.urls import path

from orders import views
from pages.forms import LimitedAuthenticationForm

app_name = "orders"
urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path(
        "login/",
        views.LoginView.as_view(authentication_form=LimitedAuthenticationForm),
        name="login",
    ),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/<str:sku>/", views.cart_add, name="cart_add"),
    path("cart/update/<str:sku>/", views.cart_update, name="cart_update"),
    path("cart/remove/<str:sku>/", views.cart_remove, name="cart_remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/", views.order_list, name="orders"),
    path("orders/<int:order_id>/", views.order_detail, name="order"),
    path("orders/<int:order_id>/thanks/", views.order_thanks, name="order_thanks"),
    path("orders/<int:order_id>/pay/", views.order_pay, name="order_pay"),
    path("orders/<int:order_id>/cancel/", views.order_cancel, name="order_cancel"),
]
