"""The app's settings with DEBUG off (no query log), plain static storage (no collectstatic in a
throwaway database), the bench URLs (the app's plus the baseline view) and throttles far above
the bench's request rates (LocMem throttles would turn a load test into a 429 test)."""

import os

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("THROTTLE_ANON", "100000000/min")
os.environ.setdefault("THROTTLE_USER", "100000000/min")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from config.settings import *  # noqa: F403
from config.settings import STORAGES

ROOT_URLCONF = "tests.bench.urls"
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
