from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api.routing import by_method
from catalog import api as catalog
from orders import api as orders
from readmodels import api as readmodels
from readmodels import audit_api

urlpatterns = [
    path(
        "categories/",
        by_method(get=catalog.categories, post=catalog.create_category),
        name="category-list",
    ),
    path(
        "products/",
        by_method(get=catalog.products, post=catalog.create_product),
        name="product-list",
    ),
    path("products/<str:sku>/", catalog.product, name="product-detail"),
    path("products/<str:sku>/history/", audit_api.ProductHistory.as_view(), name="product-history"),
    path("products/<str:sku>/details", catalog.change_details, name="product-details"),
    path("products/<str:sku>/price", catalog.change_price, name="product-price"),
    path("products/<str:sku>/restock", catalog.restock, name="product-restock"),
    path("products/<str:sku>/discontinue", catalog.discontinue, name="product-discontinue"),
    path("products/<str:sku>/reactivate", catalog.reactivate, name="product-reactivate"),
    path("customers/", orders.register_customer, name="customer-list"),
    path("auth/token/", orders.ObtainToken.as_view(), name="auth-token"),
    path("orders/", by_method(get=orders.orders, post=orders.place_order), name="order-list"),
    path("orders/<int:order_id>/", orders.order, name="order-detail"),
    path("orders/<int:order_id>/history/", orders.history, name="order-history"),
    path("orders/<int:order_id>/pay", orders.pay, name="order-pay"),
    path("orders/<int:order_id>/cancel", orders.cancel, name="order-cancel"),
    path("orders/<int:order_id>/ship", orders.ship, name="order-ship"),
    path("orders/<int:order_id>/deliver", orders.deliver, name="order-deliver"),
    path("reports/daily-sales/", orders.daily_sales, name="report-daily-sales"),
    path("reports/customers/", orders.customers, name="report-customers"),
    path("reports/best-sellers/", orders.best_sellers, name="report-best-sellers"),
    path("projections/", readmodels.Projections.as_view(), name="projections"),
    path("audit/", audit_api.AuditLog.as_view(), name="audit"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
