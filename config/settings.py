"""Settings, all from the environment.

With no DATABASE_URL the app runs in *embedded mode*: it talks to the private Postgres and Redis
that `make run` keeps under .devdata/, DEBUG defaults to on and a development SECRET_KEY is used.
With DATABASE_URL set (a real deployment), DEBUG defaults to off, SECRET_KEY is required and the
secure defaults below apply.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import devservices

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# devservices sets EMBEDDED_SERVICES when it started the database itself.
EMBEDDED = not os.environ.get("DATABASE_URL") or env_bool("EMBEDDED_SERVICES", default=False)
default_database_url, default_broker_url = devservices.default_urls()

DEBUG = env_bool("DEBUG", default=EMBEDDED)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not (EMBEDDED or DEBUG):
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DATABASE_URL is set and DEBUG is off"
        )
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if not DEBUG else "*")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "pgtrigger",
    "django_htmx",
    "readmodels",
    "catalog",
    "orders",
]

MIDDLEWARE = [
    # First, so that whatever layer fails, an answer under /api/ is in the API's error format.
    "config.api_middleware.api_errors_middleware",
    # Before CommonMiddleware, whose APPEND_SLASH would redirect a POST into a GET.
    "config.api_middleware.api_slash_middleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "readmodels.middleware.correlation_id_middleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", default_database_url),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# Client-side binding (Django's default) must stay: pgtrigger.ignore prepends a set_config().
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOGIN_URL = "orders:login"
LOGIN_REDIRECT_URL = "catalog:home"
LOGOUT_REDIRECT_URL = "catalog:home"

# Production hardening: on whenever DEBUG is off. HTTPS=0 turns off the HTTPS-only parts for a
# deployment served over plain http (the docker compose demo on localhost).
if not DEBUG:
    HTTPS = env_bool("HTTPS", default=True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
    SESSION_COOKIE_SECURE = HTTPS
    CSRF_COOKIE_SECURE = HTTPS
    SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", default=False)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "3600" if HTTPS else "0"))
    if env_bool("BEHIND_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Celery: Redis is the broker; no result backend (tasks report through the database). ---
CELERY_BROKER_URL = os.environ.get("REDIS_URL", default_broker_url)

# The cache lives in the broker's Redis (database 1), so every web process and worker shares it:
# throttle counters, and the flag that keeps commits from queueing a projection run each.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": devservices.redis_client_url(CELERY_BROKER_URL, db=1),
    }
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Retries back off to at most PROJECTION_RETRY_BACKOFF_MAX, far below Redis's one-hour
# visibility timeout, so an unacknowledged task is never redelivered while it is still retrying.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULE = {
    "project-events-sweep": {
        "task": "readmodels.tasks.run_projections",
        "schedule": timedelta(seconds=float(os.environ.get("PROJECTION_SWEEP_SECONDS", "5"))),
        "options": {"expires": 30},
    },
}

# --- The shop ---
SHOP_CURRENCY = os.environ.get("SHOP_CURRENCY", "EUR")

# --- The projection engine ---
# A worker catching up on a backlog takes events in batches this big: bigger batches share more
# keys (fewer rows recomputed per event); a failing batch is halved until the event is cornered.
PROJECTION_BATCH_SIZE = int(os.environ.get("PROJECTION_BATCH_SIZE", "5000"))
PROJECTION_MAX_ATTEMPTS = 5
PROJECTION_RETRY_BACKOFF_MAX = 300
# Seconds behind after which a projection counts as lagging (staff dashboard, health endpoint).
PROJECTION_LAG_WARNING_SECONDS = float(os.environ.get("PROJECTION_LAG_WARNING_SECONDS", "30"))

# --- The API ---
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes "not logged in" a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "config.schema.EnforcedSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    # JSON only: the browsable API answered a browser's Accept: text/html with HTML pages.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "config.content.JSONWhateverAccepted",
    # JSON bodies only: a form or multipart body could not express the nested order lines, and
    # accepted shapes (a list for an object) that JSON refuses. Others are a 415.
    "DEFAULT_PARSER_CLASSES": ["config.content.BoundedJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_THROTTLE_CLASSES": [
        "config.throttling.AnonThrottle",
        "config.throttling.UserThrottle",
    ],
    # How many proxies of ours append to X-Forwarded-For: the client address is the one they
    # saw. Unset, DRF would key anonymous throttles on the whole header, which the client writes.
    "NUM_PROXIES": int(
        os.environ.get("NUM_PROXIES", "1" if env_bool("BEHIND_PROXY", False) else "0")
    ),
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("THROTTLE_ANON", "120/min"),
        "user": os.environ.get("THROTTLE_USER", "600/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Seconds shared caches may keep an anonymous catalog answer (others are private).
API_PUBLIC_MAX_AGE = int(os.environ.get("API_PUBLIC_MAX_AGE", "10"))
# Throttles and failed-login limits count in the cache's Redis (see config/throttling.py).
RATE_LIMIT_REDIS_URL = CACHES["default"]["LOCATION"]
# Failed logins (API token and the login page) per account and per client address in a window.
LOGIN_FAILURES_PER_ACCOUNT = int(os.environ.get("LOGIN_FAILURES_PER_ACCOUNT", "10"))
LOGIN_FAILURES_PER_IP = int(os.environ.get("LOGIN_FAILURES_PER_IP", "50"))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "900"))

SPECTACULAR_SETTINGS = {
    "TITLE": "CQRS shop API",
    "DESCRIPTION": "Commands are POSTs, queries are GETs served from summary tables.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies get their own components, which can say what is refused (blank text).
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"OrderStatusEnum": "orders.models.OrderStatus"},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
