"""All configuration, read from the environment once, here.

Development defaults are safe: with no ``DATABASE_URL`` an embedded PostgreSQL is started
in the data folder, secrets are generated and kept there, mail goes to an outbox folder and
customer URLs on private addresses are refused unless explicitly allowed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from doxie.core.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


DOXIE_ENV = os.environ.get("DOXIE_ENV", "development")
PRODUCTION = DOXIE_ENV == "production"
DATA_DIR = Path(os.environ.get("DOXIE_DATA_DIR", "./.doxie")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _persisted_secret(filename: str, make: callable) -> str:  # type: ignore[valid-type]
    """A development secret generated once and kept in the data folder, so restarts agree."""
    path = DATA_DIR / filename
    if path.exists():
        return path.read_text().strip()
    value = make()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(value)
    os.chmod(tmp, 0o600)
    try:
        os.link(tmp, path)  # atomic: a concurrent process keeps whichever was first
    except FileExistsError:
        pass
    tmp.unlink(missing_ok=True)
    return path.read_text().strip()


_explicit_secrets = os.environ.get("DOXIE_SECRET_KEY") and os.environ.get("DOXIE_ENCRYPTION_KEYS")
if PRODUCTION and not _explicit_secrets:
    raise ImproperlyConfigured(
        "DOXIE_ENV=production requires DOXIE_SECRET_KEY and DOXIE_ENCRYPTION_KEYS to be set"
    )

SECRET_KEY = os.environ.get("DOXIE_SECRET_KEY") or _persisted_secret(
    "secret_key", lambda: secrets.token_urlsafe(50)
)
# Comma separated Fernet keys, newest first; older keys still decrypt (rotation).
DOXIE_ENCRYPTION_KEYS = [
    k.strip()
    for k in (
        os.environ.get("DOXIE_ENCRYPTION_KEYS")
        or _persisted_secret("encryption_keys", lambda: Fernet.generate_key().decode())
    ).split(",")
    if k.strip()
]

DEBUG = env_bool("DOXIE_DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("DOXIE_ALLOWED_HOSTS", "*").split(",")]
DOXIE_PUBLIC_URL = os.environ.get("DOXIE_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [DOXIE_PUBLIC_URL]
DOXIE_ALLOW_PRIVATE_URLS = env_bool("DOXIE_ALLOW_PRIVATE_URLS", not PRODUCTION)
DOXIE_TRUSTED_PROXIES = [
    p.strip() for p in os.environ.get("DOXIE_TRUSTED_PROXIES", "").split(",") if p.strip()
]

# Operations: /metrics off unless enabled, then behind a bearer token on the public listener
# (or on `doxie serve --metrics-port`); /readyz wants a worker heartbeat this recent; SIGTERM
# gives web requests and worker jobs this long to finish before claims are handed back.
DOXIE_METRICS = env_bool("DOXIE_METRICS", False)
DOXIE_METRICS_TOKEN = os.environ.get("DOXIE_METRICS_TOKEN", "")
DOXIE_METRICS_PORT = env_int("DOXIE_METRICS_PORT", 0)
DOXIE_METRICS_MAX_BRANDS = env_int("DOXIE_METRICS_MAX_BRANDS", 200)  # brand label cardinality
DOXIE_READY_HEARTBEAT_SECONDS = env_int("DOXIE_READY_HEARTBEAT_SECONDS", 60)
DOXIE_SHUTDOWN_GRACE_SECONDS = env_int("DOXIE_SHUTDOWN_GRACE_SECONDS", 30)

# Request body limits (bytes) enforced by core.middleware before anything is parsed.
DOXIE_MAX_JSON_BODY = env_int("DOXIE_MAX_JSON_BODY", 1024 * 1024)
DOXIE_MAX_UPLOAD_BODY = env_int("DOXIE_MAX_UPLOAD_BODY", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = DOXIE_MAX_UPLOAD_BODY + 1024 * 1024

# Sign-in throttling (HTTP Basic, admin login, OAuth2 authorization login; docs/security.md):
# free failures per (username, client IP) and per IP, then exponential back-off from BASE
# seconds doubling per failure up to MAX; failures are forgotten after MEMORY quiet seconds.
DOXIE_AUTH_FAILURE_LIMIT = env_int("DOXIE_AUTH_FAILURE_LIMIT", 5)
DOXIE_AUTH_IP_FAILURE_LIMIT = env_int("DOXIE_AUTH_IP_FAILURE_LIMIT", 50)
DOXIE_AUTH_BACKOFF_BASE = env_int("DOXIE_AUTH_BACKOFF_BASE", 1)
DOXIE_AUTH_BACKOFF_MAX = env_int("DOXIE_AUTH_BACKOFF_MAX", 900)
DOXIE_AUTH_FAILURE_MEMORY = env_int("DOXIE_AUTH_FAILURE_MEMORY", 86400)

# Provider base URLs: settings so tests and staging point them at local peers.
DOXIE_MAILJET_API_URL = os.environ.get("DOXIE_MAILJET_API_URL", "https://api.mailjet.com")
DOXIE_SEVEN_API_URL = os.environ.get("DOXIE_SEVEN_API_URL", "https://gateway.seven.io")
AWS_ENDPOINT_URL = os.environ.get("AWS_ENDPOINT_URL") or None
# Message delivery: messages/s one drainer sends before a brand gets another slot, the most
# drainers per brand, rows claimed per batch, sends in flight per drainer, attempts before
# a message fails, retry back-off base and cap (seconds), seconds a drainer runs per job.
DOXIE_MESSAGING_DRAINER_RATE = env_int("DOXIE_MESSAGING_DRAINER_RATE", 250)
DOXIE_MESSAGING_MAX_DRAINERS = env_int("DOXIE_MESSAGING_MAX_DRAINERS", 4)
DOXIE_MESSAGING_BATCH_SIZE = env_int("DOXIE_MESSAGING_BATCH_SIZE", 200)
DOXIE_MESSAGING_CONCURRENCY = env_int("DOXIE_MESSAGING_CONCURRENCY", 32)
DOXIE_MESSAGING_MAX_ATTEMPTS = env_int("DOXIE_MESSAGING_MAX_ATTEMPTS", 12)
DOXIE_MESSAGING_RETRY_BASE = float(os.environ.get("DOXIE_MESSAGING_RETRY_BASE", "5"))
DOXIE_MESSAGING_RETRY_CAP = float(os.environ.get("DOXIE_MESSAGING_RETRY_CAP", "3600"))
DOXIE_MESSAGING_DRAIN_BUDGET = float(os.environ.get("DOXIE_MESSAGING_DRAIN_BUDGET", "60"))
# Webhook delivery: per-request deadline, batch claimed per drain, requests in flight per
# endpoint, longest Retry-After honoured, seconds a drainer runs before handing over, and
# how many per-endpoint connection pools a worker keeps.
DOXIE_WEBHOOK_TIMEOUT = float(os.environ.get("DOXIE_WEBHOOK_TIMEOUT", "15"))
DOXIE_WEBHOOK_BATCH_SIZE = env_int("DOXIE_WEBHOOK_BATCH_SIZE", 100)
DOXIE_WEBHOOK_CONCURRENCY = env_int("DOXIE_WEBHOOK_CONCURRENCY", 10)
DOXIE_WEBHOOK_MAX_RETRY_AFTER = env_int("DOXIE_WEBHOOK_MAX_RETRY_AFTER", 24 * 3600)
DOXIE_WEBHOOK_DRAIN_BUDGET = float(os.environ.get("DOXIE_WEBHOOK_DRAIN_BUDGET", "60"))
DOXIE_WEBHOOK_MAX_CLIENTS = env_int("DOXIE_WEBHOOK_MAX_CLIENTS", 256)
# Seconds between attempts, comma-separated; empty = 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DOXIE_WEBHOOK_RETRY_DELAYS = [
    float(s) for s in os.environ.get("DOXIE_WEBHOOK_RETRY_DELAYS", "").split(",") if s.strip()
]
# SNS certificate and subscription URLs must match these (AWS hosts by default; tests and
# air-gapped deployments override them).
DOXIE_SNS_CERT_URL_PATTERN = os.environ.get("DOXIE_SNS_CERT_URL_PATTERN") or None
DOXIE_SNS_SUBSCRIBE_URL_PATTERN = os.environ.get("DOXIE_SNS_SUBSCRIBE_URL_PATTERN") or None
# With no real provider configured for a brand, development writes messages here.
DOXIE_OUTBOX_DIR = DATA_DIR / "outbox"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "oauth2_provider",
    "procrastinate.contrib.django",
    "doxie.core",
    "doxie.tenants",
    "doxie.brands",
    "doxie.webhooks",
    "doxie.processes",
    "doxie.messaging",
    "doxie.consents",
    "doxie.surveys",
    "doxie.inbound",
    "doxie.pages",
    "doxie.journeys",
    "doxie.qrcodes",
]

MIDDLEWARE = [
    "doxie.core.logs.RequestContextMiddleware",
    "doxie.core.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "doxie.core.middleware.ApiRequestGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "doxie.urls"
ASGI_APPLICATION = "doxie.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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


def _database_from_url(url: str) -> dict:
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured("DATABASE_URL must be a postgresql:// URL")
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    host = query.pop("host", None) or parsed.hostname or ""
    return {
        "NAME": unquote(parsed.path.lstrip("/")) or "postgres",
        "USER": unquote(parsed.username or "postgres"),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": host,
        "PORT": str(parsed.port or ""),
        "EXTRA_OPTIONS": query,
    }


DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    _db = _database_from_url(DATABASE_URL)
else:
    from doxie.core.embedded_pg import ensure_embedded_postgres

    _db = _database_from_url(ensure_embedded_postgres(DATA_DIR / "pg"))
    DATABASE_URL = ""

DB_POOL = env_bool("DOXIE_DB_POOL", True)
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _db["NAME"],
        "USER": _db["USER"],
        "PASSWORD": _db["PASSWORD"],
        "HOST": _db["HOST"],
        "PORT": _db["PORT"],
        "CONN_HEALTH_CHECKS": not DB_POOL,
        "OPTIONS": {
            "connect_timeout": 2,
            **_db["EXTRA_OPTIONS"],
            **(
                {
                    "pool": {
                        "min_size": 1,
                        "max_size": env_int("DOXIE_DB_POOL_SIZE", 20),
                        "timeout": 2,
                    }
                }
                if DB_POOL
                else {}
            ),
        },
        "TEST": {"NAME": os.environ.get("DOXIE_TEST_DB_NAME", "doxie_test")},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

LANGUAGE_CODE = "de"
LANGUAGES = [("de", "Deutsch"), ("en", "English")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"

LOGIN_URL = "/admin/login/"

# Only the grants the contract documents (client credentials; authorization code + PKCE,
# with its refresh tokens); tokens stored as SHA-256 only; scopes follow the client.
OAUTH2_PROVIDER = {
    "SCOPES": {"read": "Read tenant data", "write": "Change tenant data"},
    "DEFAULT_SCOPES": ["read"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("DOXIE_ACCESS_TOKEN_SECONDS", 3600),
    "PKCE_REQUIRED": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],
    "OAUTH2_SERVER_CLASS": "doxie.tenants.oauth.DoxieOAuth2Server",
    "SCOPES_BACKEND_CLASS": "doxie.tenants.oauth.ClientScopes",
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "client_credentials", "refresh_token"],
}
# The toolkit's default, named so migrations referring to it (tenants.OAuthClient) resolve.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"

PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "tasks"
# The poll interval bounds how late a scheduled drainer (a row due at T: retries, scheduled
# sends, journey waits) starts after T when no job notification wakes the worker earlier.
PROCRASTINATE_WORKER_DEFAULTS = {
    "concurrency": env_int("DOXIE_WORKER_CONCURRENCY", 8),
    "fetch_job_polling_interval": float(os.environ.get("DOXIE_WORKER_POLL_SECONDS", "1")),
}

# One logging config: text in development, one JSON object per line in production; every
# line carries the request id, tenant slug and process uuid, and passes the redaction filter.
DOXIE_LOG_FORMAT = os.environ.get("DOXIE_LOG_FORMAT") or ("json" if PRODUCTION else "text")
if DOXIE_LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured("DOXIE_LOG_FORMAT must be 'text' or 'json'")
LOGGING = logging_config(
    fmt=DOXIE_LOG_FORMAT,
    level=os.environ.get("DOXIE_LOG_LEVEL", "INFO"),
    procrastinate_level=os.environ.get("DOXIE_PROCRASTINATE_LOG_LEVEL", "WARNING"),
)

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
