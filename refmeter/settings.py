"""One settings module, driven by environment variables (12-factor).

Development is the default: SQLite under ``var/``, a fixed development secret,
DEBUG on. ``REFMETER_ENV=production`` switches to production mode, which
refuses to start unless a real secret, allowed hosts and DEBUG off are given.
"""

from __future__ import annotations

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
    "django_tasks_db",
    "axes",
    "refmeter.common",
    "refmeter.audit",
    "refmeter.organisations",
    "refmeter.registry",
    "refmeter.readings",
    "refmeter.anomalies",
    "refmeter.billing",
    "refmeter.lineloss",
    "refmeter.outages",
    "refmeter.inspections",
    "refmeter.spreadsheets",
    "refmeter.workorders",
    "refmeter.labels",
    "refmeter.dashboard",
    "refmeter.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "refmeter.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
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
LOGIN_REDIRECT_URL = "registry:group_search"
LOGOUT_REDIRECT_URL = "login"

# Failed logins: after 5 failures for one user name from one address the
# login is locked for 15 minutes.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "organisations/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

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

SILENCED_SYSTEM_CHECKS: list[str] = []
