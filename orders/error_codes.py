"""The orders' error codes (its commands raise these)."""

from core.errors import Conflict, ErrorCode, PermissionDenied, ValidationFailed


class OrderErrorCode(ErrorCode):
    USERNAME_TAKEN = ("username_taken", ValidationFailed)
    NO_LINES = ("no_lines", ValidationFailed)
    TOO_MANY_LINES = ("too_many_lines", ValidationFailed)
    UNKNOWN_PRODUCT = ("unknown_product", ValidationFailed)
    PRODUCT_UNAVAILABLE = ("product_unavailable", ValidationFailed)
    ORDER_TOO_LARGE = ("order_too_large", ValidationFailed)
    AMOUNT_MISMATCH = ("amount_mismatch", ValidationFailed)
    INSUFFICIENT_STOCK = ("insufficient_stock", Conflict)
    INVALID_STATUS_TRANSITION = ("invalid_status_transition", Conflict)
    ALREADY_PAID = ("already_paid", Conflict)
    PAYMENT_MISMATCH = ("payment_mismatch", Conflict)
    ORDER_CANCELLED = ("order_cancelled", Conflict)
    CANCEL_NEEDS_STAFF = ("cancel_needs_staff", PermissionDenied)
