"""The one domain error hierarchy. Commands raise these; the API and pages map them once.

Every error has a stable machine `code`, a `message` a person understands, and `fields`: which
inputs were wrong and why (field name -> message). Codes are members of an `ErrorCode` enum,
one per app (core.error_codes, catalog.error_codes, orders.error_codes): each code is raised
as one error class, so it always has one HTTP status.
"""

from __future__ import annotations

from enum import StrEnum


class DomainError(Exception):
    http_status = 400
    default_code = "invalid"

    def __init__(self, message: str, *, code: ErrorCode | None = None, fields: dict | None = None):
        if code not in (None, self.default_code) and not (
            isinstance(code, ErrorCode) and isinstance(self, code.error_class)
        ):
            raise TypeError(f"{code!r} is not an error code of {type(self).__name__}")
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fields = fields or {}

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "fields": self.fields}


class ValidationFailed(DomainError):
    http_status = 400
    default_code = "invalid"


class NotFound(DomainError):
    http_status = 404
    default_code = "not_found"


class Conflict(DomainError):
    http_status = 409
    default_code = "conflict"


class PermissionDenied(DomainError):
    http_status = 403
    default_code = "permission_denied"


class NotAuthenticated(PermissionDenied):
    """Nobody is logged in: 401, as the API answers an anonymous request itself."""

    http_status = 401
    default_code = "not_authenticated"


class IdempotencyKeyReused(DomainError):
    """A key already used for another request (the API's Idempotency-Key, a page's form key)."""

    http_status = 422
    default_code = "idempotency_key_reused"


class NotProjectedYet(NotFound):
    """Not on the read side yet, though it exists (a new order read right after placing it).
    The API answers 202 "processing" with the position to wait for, so "not yet" never looks
    like "never"; where that distinction is not needed it is a NotFound like any other."""

    def __init__(self, message: str, *, position):
        super().__init__(message)
        self.position = position


class ErrorCode(StrEnum):
    """Base of each app's error codes. A member is declared as `NAME = ("name", ErrorClass)`;
    `Codes.NAME.error(message, fields=…)` is the error to raise."""

    def __new__(cls, value: str, error_class: type[DomainError]):
        member = str.__new__(cls, value)
        member._value_ = value
        member.error_class = error_class
        return member

    @property
    def http_status(self) -> int:
        return self.error_class.http_status

    def error(self, message: str, *, fields: dict | None = None) -> DomainError:
        return self.error_class(message, code=self, fields=fields)

    @classmethod
    def every_code(cls) -> list[ErrorCode]:
        """Every member of every app's enum that has been imported."""
        return [code for enum in cls.__subclasses__() for code in enum]
