import json
import os
import subprocess
import sys
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
PROBE = (
    "import django, json; from django.conf import settings; django.setup();"
    "print(json.dumps({'db': settings.DATABASES['default']['HOST'], 'name': settings.DATABASES['default']['NAME'],"
    " 'broker': settings.CELERY_BROKER_URL, 'debug': settings.DEBUG}))"
)


def settings_with(env: dict) -> subprocess.CompletedProcess:
    minimal = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=BASE,
        env={**minimal, **env},
        capture_output=True,
        text=True,
    )


def test_with_no_environment_at_all_the_app_uses_the_embedded_services():
    result = settings_with({})
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["db"].startswith(str(BASE / ".devdata" / "postgres"))
    assert found["name"] == "shop"
    assert found["broker"] == f"redis+socket://{BASE / '.devdata' / 'redis' / 'redis.sock'}"
    assert found["debug"] is True


def test_a_real_deployment_needs_a_secret_key_and_is_not_in_debug():
    url = {"DATABASE_URL": "postgres://u:p@db:5432/shop", "REDIS_URL": "redis://redis:6379/0"}
    refused = settings_with(url)
    assert refused.returncode != 0 and "SECRET_KEY must be set" in refused.stderr
    result = settings_with({**url, "SECRET_KEY": "x" * 50})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "db": "db",
        "name": "shop",
        "broker": "redis://redis:6379/0",
        "debug": False,
    }


def test_docker_compose_ships_no_usable_secret_key():
    """`${SECRET_KEY:?message}` makes compose refuse to start without one; a `:-default`
    would be a key anyone can read here."""
    import re

    import yaml

    compose = yaml.safe_load((BASE / "docker-compose.yml").read_text())
    value = compose["x-app"]["environment"]["SECRET_KEY"]
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", value), value
