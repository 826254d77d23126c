"""Catalog JSON API: GET → catalog.queries."""

from rest_framework import generics, pagination, serializers

from catalog import queries


class ProductOut(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    slug = serializers.CharField()
    description = serializers.CharField()
    category = serializers.CharField(source="category_slug")
    category_name = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    stock = serializers.IntegerField()
    in_stock = serializers.BooleanField()
    active = serializers.BooleanField()
    units_sold = serializers.IntegerField()
    order_count = serializers.IntegerField()
    last_ordered_at = serializers.DateTimeField()


class ProductFilters(serializers.Serializer):
    q = serializers.CharField(required=False, max_length=200)
    category = serializers.SlugField(required=False)
    min_price = serializers.DecimalField(
        required=False, max_digits=12, decimal_places=2, min_value=0
    )
    max_price = serializers.DecimalField(
        required=False, max_digits=12, decimal_places=2, min_value=0
    )
    in_stock = serializers.BooleanField(required=False, allow_null=True, default=None)
    ordering = serializers.ChoiceField(required=False, choices=list(queries.PRODUCT_ORDERINGS))


class ProductCursor(pagination.CursorPagination):
    page_size = 24
    max_page_size = 100
    page_size_query_param = "page_size"

    def get_ordering(self, request, queryset, view):
        # The query decides the order (relevance, price, popularity…); the cursor follows it.
        return tuple(queryset.query.order_by)


class ProductList(generics.ListAPIView):
    serializer_class = ProductOut
    pagination_class = ProductCursor

    def get_queryset(self):
        filters = ProductFilters(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return queries.list_products(**filters.validated_data)
