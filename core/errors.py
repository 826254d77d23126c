"""The one domain error hierarchy. Commands raise these; the API and pages map them once.

Every error has a stable machine `code`, a `message` a person understands, and `fields`: which
inputs were wrong and why (field name -> message).
"""

from __future__ import annotations


class DomainError(Exception):
    http_status = 400
    default_code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
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


class NotProjectedYet(NotFound):
    """Not on the read side yet, though it exists (a new order read right after placing it).
    The API answers 202 "processing" with the position to wait for, so "not yet" never looks
    like "never"; where that distinction is not needed it is a NotFound like any other."""

    def __init__(self, message: str, *, position):
        super().__init__(message)
        self.position = position
