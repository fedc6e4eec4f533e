"""One settings module, driven by environment variables (12-factor).

Development is the default: SQLite under ``var/``, a fixed development secret,
DEBUG on. ``REFMETER_ENV=production`` switches to production mode, which
refuses to start unless a real secret, allowed hosts and DEBUG off are given.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("REFMETER_VAR_DIR", PROJECT_DIR / "var"))

DEVELOPMENT_SECRET_KEY = "refmeter-development-secret-do-not-use-in-production"


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from error


def env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


ENVIRONMENT = os.environ.get("REFMETER_ENV", "development").strip().lower()
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured("REFMETER_ENV must be 'development' or 'production'")
PRODUCTION = ENVIRONMENT == "production"

DEBUG = env_bool("DEBUG", default=not PRODUCTION)
SECRET_KEY = os.environ.get("SECRET_KEY", "" if PRODUCTION else DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS") or ([] if PRODUCTION else ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

if PRODUCTION:
    problems = []
    if DEBUG:
        problems.append("DEBUG must be off")
    if not SECRET_KEY or SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 32:
        problems.append("SECRET_KEY must be set to a random value of at least 32 characters")
    if not ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS must name the hosts this server answers for")
    if not os.environ.get("DATABASE_URL"):
        problems.append("DATABASE_URL must point at the production PostgreSQL database")
    if problems:
        raise ImproperlyConfigured(
            "refmeter refuses to start in production: " + "; ".join(problems)
        )

DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'refmeter.sqlite3'}"
if "DATABASE_URL" not in os.environ:
    VAR_DIR.mkdir(parents=True, exist_ok=True)


def _database(url: str) -> dict:
    database: dict = dj_database_url.parse(  # type: ignore[assignment]
        url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60 if PRODUCTION else 0)
    )
    if database["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the in-process task worker write while pages read.
        database.setdefault("OPTIONS", {})
        database["OPTIONS"].update(
            {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            }
        )
    return database


DATABASES = {
    "default": _database(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)),
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "django_htmx",
    "django_tasks",
    # Before django_tasks_db: its ``db_worker`` command is refmeter's, which also
    # recovers jobs whose worker died.
    "refmeter.common",
    "django_tasks_db",
    "axes",
    "refmeter.audit",
    "refmeter.organisations",
    "refmeter.registry",
    "refmeter.readings",
    "refmeter.anomalies",
    "refmeter.billing",
    "refmeter.reconciliation",
    "refmeter.lineloss",
    "refmeter.outages",
    "refmeter.inspections",
    "refmeter.spreadsheets",
    "refmeter.masterdata",
    "refmeter.workorders",
    "refmeter.labels",
    "refmeter.search",
    "refmeter.dashboard",
    "refmeter.demo",
]

MIDDLEWARE = [
    # Outermost: writes the answer does not depend on run after it is sent.
    "refmeter.common.after_response.AfterResponseMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "refmeter.middleware.ChosenLanguageMiddleware",
    "refmeter.middleware.ApiErrorsAsJsonMiddleware",
    "refmeter.middleware.ExplainedMethodRefusalMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "refmeter.middleware.RefuseNulCharactersMiddleware",
    "refmeter.organisations.middleware.SecurityHeadersMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "refmeter.organisations.middleware.PasswordChangeRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "refmeter.urls"
WSGI_APPLICATION = "refmeter.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "refmeter.dashboard.context_processors.rights",
            ],
        },
    }
]

AUTH_USER_MODEL = "organisations.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# The client's address: X-Forwarded-For is believed only when the request comes from one
# of these proxies (addresses or networks, comma-separated); by default only REMOTE_ADDR.
REFMETER_TRUSTED_PROXIES = env_list("REFMETER_TRUSTED_PROXIES")
try:
    for _proxy in REFMETER_TRUSTED_PROXIES:
        ipaddress.ip_network(_proxy, strict=False)
except ValueError as _error:
    raise ImproperlyConfigured(
        f"REFMETER_TRUSTED_PROXIES must list IP addresses or networks: {_error}"
    ) from _error

# Failed logins (django-axes), counted over the last 15 minutes: 5 for one user name from
# one address lock that user name at that address; 20 from one address over any user
# names lock that address (password spraying); 30 for one user name from any addresses
# lock that user name everywhere. Failures while locked are not counted, so one address
# alone can never lock a user name for everyone.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
REFMETER_LOGIN_ADDRESS_FAILURE_LIMIT = env_int("REFMETER_LOGIN_ADDRESS_FAILURE_LIMIT", 20)
REFMETER_LOGIN_USERNAME_FAILURE_LIMIT = env_int("REFMETER_LOGIN_USERNAME_FAILURE_LIMIT", 30)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address", "username"]
AXES_HANDLER = "refmeter.organisations.lockout.LoginLockoutHandler"
AXES_CLIENT_IP_CALLABLE = "refmeter.organisations.network.client_address"
AXES_COOLOFF_TIME = 0.25
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "organisations/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# API tokens expire after this many days; unknown tokens from one address are refused
# with 429 for the rest of a 15-minute window once there were this many.
REFMETER_API_TOKEN_DAYS = env_int("REFMETER_API_TOKEN_DAYS", 90)
REFMETER_API_TOKEN_FAILURE_LIMIT = env_int("REFMETER_API_TOKEN_FAILURE_LIMIT", 20)
# Anonymous label scans: at most this many per client address per window; the scan log
# keeps one row per label and result per address per hour, at most this many an hour.
REFMETER_SCAN_RATE_LIMIT = env_int("REFMETER_SCAN_RATE_LIMIT", 60)
REFMETER_SCAN_RATE_WINDOW_SECONDS = env_int("REFMETER_SCAN_RATE_WINDOW_SECONDS", 600)
REFMETER_SCAN_LOG_ANONYMOUS_PER_HOUR = env_int("REFMETER_SCAN_LOG_ANONYMOUS_PER_HOUR", 20)
for _name in (
    "AXES_FAILURE_LIMIT",
    "REFMETER_LOGIN_ADDRESS_FAILURE_LIMIT",
    "REFMETER_LOGIN_USERNAME_FAILURE_LIMIT",
    "REFMETER_API_TOKEN_DAYS",
    "REFMETER_API_TOKEN_FAILURE_LIMIT",
    "REFMETER_SCAN_RATE_LIMIT",
    "REFMETER_SCAN_RATE_WINDOW_SECONDS",
    "REFMETER_SCAN_LOG_ANONYMOUS_PER_HOUR",
):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1")

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Development serves static files straight from the apps, with no collectstatic.
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = Path(os.environ.get("REFMETER_STORAGE_DIR", VAR_DIR / "files"))
MEDIA_URL = "/files/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {
    "default": {
        "BACKEND": os.environ.get("REFMETER_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": [],
    }
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 10
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Sent on every page by refmeter.organisations.middleware, which also marks every answer
# to a logged-in user or an API token "Cache-Control: no-store". Scripts come only from
# the vendored static files (no inline scripts, no eval); style attributes are allowed
# for the progress bars, style elements are not.
REFMETER_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
REFMETER_PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)
# The inspection form asks this site's pages (only) for the phone's position.
REFMETER_PERMISSIONS_POLICY += ", geolocation=(self)"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Business settings.
REFMETER_MAX_ACTIVE_SUB_ACCOUNTS = env_int("REFMETER_MAX_ACTIVE_SUB_ACCOUNTS", 100)
REFMETER_PAGE_SIZE = env_int("REFMETER_PAGE_SIZE", 50)
# The utility, as its documents and labels name it (full name; short name on labels).
REFMETER_UTILITY_NAME = os.environ.get("REFMETER_UTILITY_NAME", "供电公司")
REFMETER_UTILITY_SHORT_NAME = os.environ.get("REFMETER_UTILITY_SHORT_NAME", "供电公司")
# Labels: the address their QR codes open, and the signing key (base64 of the 32 raw
# Ed25519 private key bytes). Without a configured key one is generated on first use.
REFMETER_LABEL_BASE_URL = os.environ.get("REFMETER_LABEL_BASE_URL", "http://127.0.0.1:8000")
REFMETER_LABEL_SIGNING_KEY = os.environ.get("REFMETER_LABEL_SIGNING_KEY", "")
REFMETER_LABEL_LAYOUTS: dict[str, dict[str, object]] = {}
# SMS: the outbox (default) records notices; refmeter.outages.sms.HttpGateway posts them.
REFMETER_SMS_BACKEND = os.environ.get("REFMETER_SMS_BACKEND", "refmeter.outages.sms.Outbox")
REFMETER_SMS_GATEWAY_URL = os.environ.get("REFMETER_SMS_GATEWAY_URL", "")
REFMETER_SMS_GATEWAY_TOKEN = os.environ.get("REFMETER_SMS_GATEWAY_TOKEN", "")
# Line loss above this percentage is high loss (shown in 10-15 / 15-20 / over 20 bands).
REFMETER_HIGH_LOSS_PERCENT = float(os.environ.get("REFMETER_HIGH_LOSS_PERCENT", "10"))
# Background jobs hold a lease their worker renews; a job whose lease ran out (its
# worker died) is queued again, up to this many attempts in all, then failed.
REFMETER_JOB_LEASE_SECONDS = env_int("REFMETER_JOB_LEASE_SECONDS", 300)
REFMETER_JOB_MAX_ATTEMPTS = env_int("REFMETER_JOB_MAX_ATTEMPTS", 3)
if REFMETER_JOB_LEASE_SECONDS < 1 or REFMETER_JOB_MAX_ATTEMPTS < 1:
    raise ImproperlyConfigured(
        "REFMETER_JOB_LEASE_SECONDS and REFMETER_JOB_MAX_ATTEMPTS must be at least 1"
    )

# Uploads and imports (docs/operations.md, "Upload limits and retention"): the largest
# CSV and the largest spreadsheet file taken; a spreadsheet's cells (rows x columns of
# every sheet) and the memory its reading may take; how long an accepted upload stays
# stored; the largest request body (the API's JSON batches; form fields).
REFMETER_UPLOAD_MAX_MB = env_int("REFMETER_UPLOAD_MAX_MB", 500)
REFMETER_SPREADSHEET_MAX_MB = env_int("REFMETER_SPREADSHEET_MAX_MB", 50)
REFMETER_SHEET_MAX_CELLS = env_int("REFMETER_SHEET_MAX_CELLS", 2_000_000)
REFMETER_SHEET_MAX_MB = env_int("REFMETER_SHEET_MAX_MB", 160)
REFMETER_UPLOAD_RETENTION_DAYS = env_int("REFMETER_UPLOAD_RETENTION_DAYS", 30)
# Photos with an inspection finding: how many at most, and the largest one.
REFMETER_INSPECTION_PHOTOS_MAX = env_int("REFMETER_INSPECTION_PHOTOS_MAX", 5)
REFMETER_INSPECTION_PHOTO_MAX_MB = env_int("REFMETER_INSPECTION_PHOTO_MAX_MB", 5)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("REFMETER_REQUEST_MAX_MB", 5) * 1024 * 1024
for _name in (
    "REFMETER_UPLOAD_MAX_MB",
    "REFMETER_SPREADSHEET_MAX_MB",
    "REFMETER_SHEET_MAX_CELLS",
    "REFMETER_SHEET_MAX_MB",
    "DATA_UPLOAD_MAX_MEMORY_SIZE",
    "REFMETER_INSPECTION_PHOTO_MAX_MB",
):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1")
if REFMETER_UPLOAD_RETENTION_DAYS < 0:
    raise ImproperlyConfigured("REFMETER_UPLOAD_RETENTION_DAYS must not be negative")

SILENCED_SYSTEM_CHECKS: list[str] = []
