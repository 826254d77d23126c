"""load_demo_data makes a superuser with a published password: never by accident in production."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from catalog.models import Product


def test_it_refuses_with_debug_off(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("load_demo_data")
    assert not get_user_model().objects.exists()
    assert not Product.objects.exists()


def test_it_loads_with_debug_off_when_forced(db, settings):
    settings.DEBUG = False
    call_command("load_demo_data", "--force")
    assert get_user_model().objects.filter(username="staff", is_superuser=True).exists()
    assert Product.objects.count() == 8


def test_it_loads_with_debug_on(db, settings):
    settings.DEBUG = True
    call_command("load_demo_data")
    assert Product.objects.count() == 8
