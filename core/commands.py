"""What every command shares: its result, the `command` wrapper that measures it, who the
actor is and what they may do, the optimistic version check, and the `clean_*` validators."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import ParamSpec, TypeAlias, TypeVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ObjectDoesNotExist

from core import metrics
from core.error_codes import CommonErrorCode
from core.errors import DomainError, ValidationFailed
from core.eventlog import Position

log = logging.getLogger("shop.commands")

# Who runs a command: a user, an anonymous visitor, or None (a script, a sign-up).
Actor: TypeAlias = AbstractBaseUser | AnonymousUser | None

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class CommandResult:
    """What a command returns: the aggregate's id, its new version, the consistency token (the
    position of the command's last event; None when the command changed nothing), and `state`:
    what the command knows of the aggregate after writing, for its answer (the read side may
    not have caught up yet)."""

    id: int
    version: int
    token: Position | None
    state: Mapping | None = None

    @property
    def consistency_token(self) -> str | None:
        return None if self.token is None else str(self.token)


def command(function: Callable[P, R]) -> Callable[P, R]:
    """Marks a command: every call is counted by outcome (ok, or the refusal's error code),
    timed, and logged with its actor. The one place commands are measured, whichever page, API
    view, admin screen or script runs them."""
    name = function.__name__

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.perf_counter()
        outcome = "unexpected_error"
        try:
            result = function(*args, **kwargs)
            outcome = "ok"
            return result
        except DomainError as error:
            outcome = error.code
            raise
        finally:
            seconds = time.perf_counter() - started
            metrics.command_ran(name, outcome, seconds)
            actor = kwargs.get("actor")
            log.info(
                "%s %s in %.1f ms",
                name,
                outcome,
                seconds * 1000,
                extra={
                    "command": name,
                    "outcome": outcome,
                    "duration_ms": round(seconds * 1000, 2),
                    "user": actor.get_username()
                    if actor is not None and actor.is_authenticated
                    else None,
                },
            )

    return run


def require_login(actor: Actor, *, message: str = "Please log in to do this.") -> None:
    if actor is None or not actor.is_authenticated:
        raise CommonErrorCode.NOT_AUTHENTICATED.error(message)


def require_staff(actor: Actor) -> None:
    require_login(actor, message="Please log in as staff to do this.")
    if not actor.is_staff:
        raise CommonErrorCode.STAFF_ONLY.error("Only staff can do this.")


def require_permission(actor: Actor, permission: str) -> None:
    """Staff holding the Django `permission` ("app_label.codename", directly, through a group,
    or as superuser). Checked here, in the command, so the API, the pages and the admin
    (whose actions only call commands) can never disagree about who may do what."""
    require_staff(actor)
    if not actor.has_perm(permission):
        raise CommonErrorCode.MISSING_PERMISSION.error(
            f"Your account lacks the {permission} permission needed for this.",
            fields={"permission": permission},
        )


def require_customer(actor: Actor):
    """The actor's customer profile (orders.Customer, reached through the user)."""
    require_login(actor)
    try:
        return actor.customer
    except ObjectDoesNotExist:
        raise CommonErrorCode.NOT_A_CUSTOMER.error(
            "Only customers can place orders; this account has no customer profile."
        ) from None


def require_owner(actor: Actor, *, permission: str):
    """Whose things the actor may act on: any customer's (None) for staff holding
    `permission`, otherwise only their own (their customer profile)."""
    require_login(actor)
    if actor.is_staff:
        require_permission(actor, permission)
        return None
    return require_customer(actor)


def check_expected_version(current: int, expected: int | None, *, what: str) -> None:
    """`expected` is the version the caller last saw; a mismatch means someone changed it since."""
    if expected is not None and expected != current:
        raise CommonErrorCode.VERSION_CONFLICT.error(
            f"This {what} was changed by someone else (version {current}, you had {expected}). "
            "Reload and try again.",
            fields={"expected_version": f"Current version is {current}."},
        )


# --- Validation: each helper returns the clean value or puts a message under `field` in
# `errors`, so a command reports every bad field at once; then raise_if_errors(errors). ---


def clean_text(errors: dict, field: str, value, *, max_length: int, required: bool = True) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        errors[field] = "This field is required."
    elif len(text) > max_length:
        errors[field] = f"Use at most {max_length} characters."
    return text


def clean_money(errors: dict, field: str, value, *, maximum: Decimal) -> Decimal | None:
    try:
        price = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        errors[field] = "Enter an amount such as 12.50."
        return None
    if not price.is_finite() or price != price.quantize(Decimal("0.01")):
        errors[field] = "Enter an amount with at most two decimal places."
    elif not 0 < price <= maximum:
        errors[field] = f"Enter an amount more than 0 and at most {maximum:,}."
    return price


def clean_int(errors: dict, field: str, value, *, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        errors[field] = "Enter a whole number."
        return None
    try:
        number = int(value)
    except ValueError:
        errors[field] = "Enter a whole number."
        return None
    if not low <= number <= high:
        errors[field] = f"Enter a number from {low:,} to {high:,}."
    return number


def raise_if_errors(errors: dict) -> None:
    if errors:
        message = next(iter(errors.values())) if len(errors) == 1 else "Please correct the errors."
        raise ValidationFailed(message, fields=errors)
