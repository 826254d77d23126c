"""The error codes every app shares: the error classes' own, and those of authorization and
version checks (core.commands)."""

from core.errors import (
    Conflict,
    ErrorCode,
    IdempotencyKeyReused,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)


class CommonErrorCode(ErrorCode):
    INVALID = ("invalid", ValidationFailed)
    NOT_FOUND = ("not_found", NotFound)
    CONFLICT = ("conflict", Conflict)
    PERMISSION_DENIED = ("permission_denied", PermissionDenied)
    NOT_AUTHENTICATED = ("not_authenticated", NotAuthenticated)
    STAFF_ONLY = ("staff_only", PermissionDenied)
    MISSING_PERMISSION = ("missing_permission", PermissionDenied)
    NOT_A_CUSTOMER = ("not_a_customer", PermissionDenied)
    VERSION_CONFLICT = ("version_conflict", Conflict)
    IDEMPOTENCY_KEY_REUSED = ("idempotency_key_reused", IdempotencyKeyReused)
