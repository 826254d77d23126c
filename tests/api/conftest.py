import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Throttle counters live in the cache; each test starts with none."""
    cache.clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """These tests make users by the dozen and the fuzz signs up and logs in hundreds of times;
    the real hasher takes 0.3 s a password and is not what they check."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def as_user(db):
    def client_for(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return client_for


@pytest.fixture
def staff_api(as_user, staff):
    return as_user(staff)


@pytest.fixture
def customer_api(as_user, customer):
    return as_user(customer)
