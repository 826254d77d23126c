"""The catalog's error codes (its commands raise these)."""

from core.errors import ErrorCode, ValidationFailed


class CatalogErrorCode(ErrorCode):
    CATEGORY_TAKEN = ("category_taken", ValidationFailed)
    SKU_TAKEN = ("sku_taken", ValidationFailed)
    UNKNOWN_CATEGORY = ("unknown_category", ValidationFailed)
    LARGE_PRICE_CUT = ("large_price_cut", ValidationFailed)
    STOCK_LIMIT = ("stock_limit", ValidationFailed)
