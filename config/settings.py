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
from config.logs import logging_config
from core.failopen import redis_client_url

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
    "crispy_forms",
    "crispy_bootstrap5",
    "readmodels",
    "catalog",
    "orders",
    "api",
]

MIDDLEWARE = [
    # First, so every response carries X-Request-ID, also those of the middleware below.
    "config.middleware.request_id_middleware",
    # Next, so that whatever layer fails, an answer under /api/ is in the API's error format.
    "api.middleware.api_errors_middleware",
    # Before CommonMiddleware, whose APPEND_SLASH would redirect a POST into a GET.
    "api.middleware.api_slash_middleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "pages.error_pages.ShopErrorPagesMiddleware",
    # Last, so that its process_exception (a replica failing under a read) is asked first.
    "readmodels.replicas.ReplicaReadsMiddleware",
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
                "orders.context_processors.shop",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", default_database_url),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
        # Django's backend, except that the per-request health check of a persistent
        # connection polls its socket instead of sending SELECT 1 (config/db/base.py).
        engine="config.db",
    )
}
# Client-side binding (Django's default) must stay: pgtrigger.ignore prepends a set_config().

# --- Read replicas (readmodels.replicas): the queries' reads, spread over streaming replicas ---
# DATABASE_REPLICA_URLS: comma-separated URLs of Postgres streaming replicas of DATABASE_URL,
# empty by default (everything on the primary). They become the aliases replica1, replica2…
DATABASE_REPLICAS = []
for _number, _url in enumerate(env_list("DATABASE_REPLICA_URLS", ""), start=1):
    _replica = dj_database_url.parse(
        _url,
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
        engine="config.db",
    )
    # An unreachable replica must cost a request little: fail the connection attempt fast.
    _replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    # Under the test runner a replica reads the primary's test database (it cannot have its own).
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica{_number}"] = _replica
    DATABASE_REPLICAS.append(f"replica{_number}")
DATABASE_ROUTERS = ["readmodels.replicas.ReplicaRouter"]
# A replica whose replay lag exceeds this leaves rotation until it catches up.
REPLICA_MAX_LAG_SECONDS = float(os.environ.get("REPLICA_MAX_LAG_SECONDS", "5"))
# Each process asks a replica its lag at most this often (not per request)...
REPLICA_CHECK_SECONDS = float(os.environ.get("REPLICA_CHECK_SECONDS", "1"))
# ...and tries an unreachable one again after this long (reads go elsewhere meanwhile).
REPLICA_RETRY_SECONDS = float(os.environ.get("REPLICA_RETRY_SECONDS", "10"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# The shop's time zone: every time on the pages is shown in it, labelled. Daily sales are still
# counted per UTC day (the projection's key), which the dashboard says when the two differ.
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Bootstrap and the shop's own CSS are served from here, never from a CDN: the shop works offline.
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# A refused form (no or stale CSRF token) gets the shop's 403 page with what to do next.
CSRF_FAILURE_VIEW = "pages.error_pages.csrf_failure"
# gunicorn serves `make run` too: in DEBUG, whitenoise serves the apps' static files straight
# from their folders (no collectstatic), as runserver did.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

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

# LOG_FORMAT=json: one JSON object per line (request id, user, command, outcome, duration…).
LOGGING = logging_config(
    log_format=os.environ.get("LOG_FORMAT", "text"), level=os.environ.get("LOG_LEVEL", "INFO")
)

# --- Celery: Redis is the broker; no result backend (tasks report through the database). ---
CELERY_BROKER_URL = os.environ.get("REDIS_URL", default_broker_url)

# The cache lives in the broker's Redis (database 1), so every web process and worker shares it:
# throttle counters, and the flag that keeps commits from queueing a projection run each.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": redis_client_url(CELERY_BROKER_URL, db=1),
    }
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The worker logs through LOGGING (text or JSON) like the web processes.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Retries back off to at most PROJECTION_RETRY_BACKOFF_MAX, far below Redis's one-hour
# visibility timeout, so an unacknowledged task is never redelivered while it is still retrying.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULE = {
    "project-events-sweep": {
        "task": "readmodels.tasks.sweep_projections",
        "schedule": timedelta(seconds=float(os.environ.get("PROJECTION_SWEEP_SECONDS", "5"))),
        "options": {"expires": 30},
    },
    "purge-expired": {
        "task": "api.tasks.purge_expired",
        "schedule": timedelta(hours=1),
        "options": {"expires": 600},
    },
}

# --- The shop ---
SHOP_NAME = os.environ.get("SHOP_NAME", "Roastery Row")
SHOP_CURRENCY = os.environ.get("SHOP_CURRENCY", "EUR")
# Prices are formatted for this locale (Babel's CLDR data): en_IE shows €19.90.
SHOP_LOCALE = os.environ.get("SHOP_LOCALE", "en_IE")

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
# Bootstrap's alert colours for Django's message levels ("error" is Bootstrap's "danger").
MESSAGE_TAGS = {40: "danger"}

# --- The projection engine ---
# A worker catching up on a backlog takes events in batches this big: bigger batches share more
# keys (fewer rows recomputed per event); a failing batch is halved until the event is cornered.
PROJECTION_BATCH_SIZE = int(os.environ.get("PROJECTION_BATCH_SIZE", "5000"))
# An event that keeps failing is dead-lettered (and the projection moves past it) after this
# many attempts spanning at least this many seconds.
PROJECTION_MAX_ATTEMPTS = int(os.environ.get("PROJECTION_MAX_ATTEMPTS", "5"))
PROJECTION_DEAD_LETTER_AFTER_SECONDS = float(
    os.environ.get("PROJECTION_DEAD_LETTER_AFTER_SECONDS", "60")
)
# Memory for a rebuild's fold of the whole event log (per sort or hash; rebuilds run one at a
# time): enough to group 1,000,000 orders in memory instead of on disk.
FOLD_WORK_MEM = os.environ.get("FOLD_WORK_MEM", "256MB")
PROJECTION_RETRY_BACKOFF_MAX = 300
# A run drains while events keep coming, pausing this long between passes so that the commits
# of one window share a pass (each pass has a fixed cost); the lag is about one window. After
# PROJECTION_DRAIN_SECONDS it hands over to the next wake-up.
PROJECTION_COALESCE_SECONDS = float(os.environ.get("PROJECTION_COALESCE_SECONDS", "0.1"))
PROJECTION_DRAIN_SECONDS = float(os.environ.get("PROJECTION_DRAIN_SECONDS", "5"))
# The flag that keeps commits from queueing a run each lasts this long, renewed by the draining
# run: a worker killed while holding it delays wake-ups at most this long (readmodels.tasks).
PROJECTION_RUN_FLAG_SECONDS = float(os.environ.get("PROJECTION_RUN_FLAG_SECONDS", "3"))
# Seconds behind after which a projection counts as lagging (staff dashboard, health endpoint).
PROJECTION_LAG_WARNING_SECONDS = float(os.environ.get("PROJECTION_LAG_WARNING_SECONDS", "30"))

# --- Operations ---
# /metrics answers a scraper that sends `Authorization: Bearer METRICS_TOKEN`, or whose address
# is in METRICS_ALLOWED_IPS (addresses or networks; behind a proxy, the proxy's address).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", "127.0.0.1,::1")
# The thresholds of deploy/prometheus/alerts.yml (a test keeps the file and these in step).
ALERT_PROJECTION_LAG_SECONDS = 5
ALERT_PROJECTION_FAILURE_RATIO = 0.01
ALERT_QUERY_LATENCY_P99_SECONDS = 0.25
ALERT_STUCK_RUNNER_SECONDS = 30
ALERT_HORIZON_HELD_SECONDS = 60

# --- The API ---
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes "not logged in" a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.EnforcedSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    # JSON only: the browsable API answered a browser's Accept: text/html with HTML pages.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "api.content.JSONWhateverAccepted",
    # JSON bodies only: a form or multipart body could not express the nested order lines, and
    # accepted shapes (a list for an object) that JSON refuses. Others are a 415.
    "DEFAULT_PARSER_CLASSES": ["api.content.BoundedJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttling.AnonThrottle",
        "api.throttling.UserThrottle",
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
# Throttles and failed-login limits count in the cache's Redis (see api/throttling.py).
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
    # GET and POST of one path are two views (api.routing.by_method); the generator sees both.
    "DEFAULT_GENERATOR_CLASS": "api.schema.SchemaGenerator",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.document_error_codes",
    ],
    "TAGS": [
        {"name": "catalog", "description": "Categories and products: browse, and staff edits."},
        {"name": "orders", "description": "Sign-up, tokens, and a customer's orders."},
        {"name": "reports", "description": "Staff: sales, customers and best sellers."},
        {"name": "operations", "description": "Projection status, health and the audit trail."},
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Idempotency-Key store (api.idempotency) ---
# A keyed request's transaction may sit idle this long before Postgres ends it and frees the
# key for a retry (a request hung while holding its key). Keep it above the slowest command.
IDEMPOTENCY_LEASE_SECONDS = float(os.environ.get("IDEMPOTENCY_LEASE_SECONDS", "30"))

# --- Read your writes (?after=TOKEN&wait=MS; readmodels.consistency) ---
# Each web process lets at most WAIT_SLOTS requests wait at once (keep it below the threads per
# process, so other requests always find a free thread); each client may wait this many
# milliseconds per minute in all. A wait beyond either answers 202 at once.
WAIT_SLOTS = int(os.environ.get("WAIT_SLOTS", "4"))
WAIT_BUDGET_MS_PER_MINUTE = int(os.environ.get("WAIT_BUDGET_MS_PER_MINUTE", "20000"))
