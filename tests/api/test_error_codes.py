"""Error codes are enums, one per app: each code is one error class and so one HTTP status,
and the schema documents every code a command can raise under that status."""

import re

import pytest

from api.error_codes import ApiErrorCode
from catalog.error_codes import CatalogErrorCode
from core import errors
from core.error_codes import CommonErrorCode
from orders.error_codes import OrderErrorCode

COMMAND_CODES = [*CommonErrorCode, *CatalogErrorCode, *OrderErrorCode]


def test_a_code_is_one_string_with_one_status():
    every = [*ApiErrorCode, *errors.ErrorCode.every_code()]
    assert set(COMMAND_CODES) <= set(every)
    values = [code.value for code in every]
    assert len(values) == len(set(values)), sorted(v for v in values if values.count(v) > 1)


def test_each_error_class_default_code_is_its_own():
    classes = [errors.DomainError, *_subclasses(errors.DomainError)]
    for cls in classes:
        code = CommonErrorCode(cls.default_code)
        assert code.http_status == cls.http_status, cls


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_a_code_outside_the_enums_or_of_another_class_is_refused():
    with pytest.raises(TypeError):
        errors.Conflict("Nope.", code="made_up")
    with pytest.raises(TypeError):
        errors.Conflict("Nope.", code=OrderErrorCode.NO_LINES)  # a ValidationFailed code
    error = OrderErrorCode.INSUFFICIENT_STOCK.error("Only 1 left.", fields={"lines": "x"})
    assert type(error) is errors.Conflict and error.http_status == 409
    assert error.as_dict() == {
        "code": "insufficient_stock",
        "message": "Only 1 left.",
        "fields": {"lines": "x"},
    }


@pytest.mark.django_db
def test_the_schema_documents_every_command_code_under_its_one_status(api):
    schema = api.get("/api/schema/?format=json").json()
    documented: dict[str, set[int]] = {}
    for operations in schema["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                listed = re.search(r"Codes: (.*)\.$", response.get("description", ""))
                for code in re.findall(r"`([a-z_]+)`", listed.group(1) if listed else ""):
                    documented.setdefault(code, set()).add(int(status))
    for code in COMMAND_CODES:
        assert documented.get(code.value) == {code.http_status}, code
    for code in ApiErrorCode:
        assert documented.get(code.value, {code.http_status}) == {code.http_status}, code
