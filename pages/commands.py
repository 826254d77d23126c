"""A page's command: form → command → a refusal onto the form, or (bounded) wait until the
read side shows the change, so the page redirected to reads it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django import forms

from core.commands import CommandResult
from core.errors import DomainError
from pages.forms import add_domain_error
from readmodels.consistency import wait_for

# How long a page waits for the read side before it redirects anyway (the page then shows what
# the read side has, or "confirming…").
READ_YOUR_WRITES_SECONDS = 2.0


def submit(
    form: forms.BaseForm,
    command: Callable[..., CommandResult],
    *,
    shows_in: Sequence[str],
    **arguments,
) -> CommandResult | None:
    """Run `command(**arguments)`. Refused: its errors go onto `form` and the answer is None
    (render the form again). Done: wait until the projections `shows_in` have the change."""
    try:
        result = command(**arguments)
    except DomainError as error:
        add_domain_error(form, error)
        return None
    wait_for(result.token, shows_in, timeout=READ_YOUR_WRITES_SECONDS)
    return result
