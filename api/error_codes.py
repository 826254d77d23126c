"""The codes of errors the HTTP layer answers by itself, before or around any command or query
(the commands' codes are core.error_codes and each app's error_codes). Each has one status."""

from enum import StrEnum


class ApiErrorCode(StrEnum):
    def __new__(cls, value: str, http_status: int):
        member = str.__new__(cls, value)
        member._value_ = value
        member.http_status = http_status
        return member

    BAD_REQUEST = ("bad_request", 400)
    PARSE_ERROR = ("parse_error", 400)
    METHOD_NOT_ALLOWED = ("method_not_allowed", 405)
    NOT_ACCEPTABLE = ("not_acceptable", 406)
    TOO_LARGE = ("too_large", 413)
    URI_TOO_LONG = ("uri_too_long", 414)
    UNSUPPORTED_MEDIA_TYPE = ("unsupported_media_type", 415)
    THROTTLED = ("throttled", 429)
    SERVER_ERROR = ("server_error", 500)
