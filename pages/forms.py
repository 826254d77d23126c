"""Forms shared by the pages and the admin: refused commands as form errors, and the login
forms with failed logins limited."""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from api.throttling import LoginRefused, authenticate_limited
from core.errors import DomainError


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


class LimitedLogin:
    """Django's login form, with failed logins limited per account and per address (shared with
    the API's token endpoint: api/throttling.py)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "too_many_failures": LoginRefused.message,
    }

    def clean(self):
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if username is not None and password:
            user = authenticate_limited(self.request, username=username, password=password)
            if isinstance(user, LoginRefused):
                raise forms.ValidationError(
                    self.error_messages["too_many_failures"], code="too_many_failures"
                )
            if user is None:
                raise self.get_invalid_login_error()
            self.user_cache = user
            self.confirm_login_allowed(user)
        return self.cleaned_data


class LimitedAuthenticationForm(LimitedLogin, AuthenticationForm):
    """The shop's login page."""


class LimitedAdminAuthenticationForm(LimitedLogin, AdminAuthenticationForm):
    """The admin's login page: staff passwords are worth guessing too."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "too_many_failures": LoginRefused.message,
    }
