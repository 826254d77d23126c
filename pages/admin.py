"""Admin screens that write through the commands.

The admin's save_model cannot report a refusal, so the command runs where the form is
validated (the ModelForm's _post_clean): a refusal becomes a form error, and save_model has
nothing left to do."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import transaction

from core.errors import DomainError
from pages.forms import add_domain_error


class CommandForm(forms.ModelForm):
    """A ModelForm whose `run_command(data)` does the writing and returns a CommandResult."""

    actor = None  # the staff user, set per request by CommandAdmin.get_form
    result = None

    def run_command(self, data):
        raise NotImplementedError

    def _post_clean(self):
        # No model validation or instance building here: the command validates and writes.
        if self.errors:
            return
        try:
            # A savepoint: when one of several commands is refused, the earlier ones roll back.
            with transaction.atomic():
                self.result = self.run_command(self.cleaned_data)
        except DomainError as error:
            add_domain_error(self, error)

    def save(self, commit=True):
        return self._meta.model.objects.get(pk=self.result.id)


class CommandAdmin(admin.ModelAdmin):
    add_form: type[CommandForm] | None = None
    change_form: type[CommandForm] | None = None

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = self.add_form if obj is None else self.change_form
        if form is not None:
            kwargs["form"] = type(form.__name__, (form,), {"actor": request.user})
        return super().get_form(request, obj, change=change, **kwargs)

    def has_add_permission(self, request):
        return self.add_form is not None and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.change_form is not None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # no command deletes anything

    def save_form(self, request, form, change):
        return form.save()

    def save_model(self, request, obj, form, change):
        """The command already wrote (in the form's validation)."""

    def save_related(self, request, form, formsets, change):
        """Nothing related is edited here."""

    def run_per_object(self, request, queryset, command, describe):
        """An admin action: the command for each selected object, each on its own."""
        done, refused = 0, []
        for obj in queryset:
            try:
                command(obj)
                done += 1
            except DomainError as error:
                refused.append(f"{describe(obj)}: {error.message}")
        if done:
            self.message_user(request, f"Done for {done} item(s).")
        for message in refused:
            self.message_user(request, message, level="error")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Summary tables and the event log: browse only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
