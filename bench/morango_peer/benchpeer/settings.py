"""Minimal Django settings for one morango peer; the database file comes from the environment.

MORANGO_BENCH_DB: path of this peer's SQLite file (one per peer).
"""

import os

SECRET_KEY = "faplink-bench-only-not-secret"
DEBUG = False  # DEBUG=True would keep every SQL query in memory
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "morango",
    "records",
]
MIDDLEWARE = []
ROOT_URLCONF = "benchpeer.urls"
AUTH_USER_MODEL = "records.PeerUser"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("MORANGO_BENCH_DB", "morango-peer.db"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
TIME_ZONE = "UTC"
REST_FRAMEWORK = {"UNAUTHENTICATED_USER": None}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
