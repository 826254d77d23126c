"""load_demo_data makes a superuser with a published password: never by accident in production.
Its catalog is on the read side when it returns: `make run` opens the web server next."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from catalog.models import Product


def test_it_refuses_with_debug_off(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("load_demo_data")
    assert not get_user_model().objects.exists()
    assert not Product.objects.exists()


def test_it_loads_with_debug_off_when_forced(transactional_db, settings):
    settings.DEBUG = False
    call_command("load_demo_data", "--force")
    assert get_user_model().objects.filter(username="staff", is_superuser=True).exists()
    assert Product.objects.count() == 8


def test_it_loads_with_debug_on(transactional_db, settings):
    settings.DEBUG = True
    call_command("load_demo_data")
    assert Product.objects.count() == 8


@pytest.mark.django_db(transaction=True)
def test_the_first_answers_after_it_list_the_demo_catalog(settings, client):
    """No worker runs here (only tests that ask for one wake it): the command itself projects."""
    settings.DEBUG = True
    call_command("load_demo_data")
    listed = APIClient().get("/api/products/")
    assert listed.status_code == 200
    assert len(listed.json()["results"]) == 8
    page = client.get("/")
    assert page.status_code == 200
    assert "Espresso beans, 1 kg" in page.content.decode()
