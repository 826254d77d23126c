"""Turning a refused command into form errors, the same way on every page and admin screen."""

from __future__ import annotations

from django import forms

from config.errors import DomainError


def add_domain_error(
    form: forms.BaseForm, error: DomainError, *, field_names: dict[str, str] | None = None
) -> None:
    """Put each of the command's field messages next to the form field it is about.

    `field_names` maps a command's field name to the form's where they differ. When no message
    fits a field of the form, the command's overall message (which names the problem) goes on
    top of the form instead."""
    field_names = field_names or {}
    unplaced = []
    for field, message in error.fields.items():
        name = field_names.get(field, field)
        # A message next to a hidden field would never be seen.
        if name in form.fields and not form.fields[name].widget.is_hidden:
            form.add_error(name, message)
        else:
            unplaced.append(message)
    if len(unplaced) == len(error.fields):
        form.add_error(None, error.message)
    else:
        for message in unplaced:
            form.add_error(None, message)
