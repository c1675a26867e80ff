"""Gunicorn settings for production: `gunicorn -c config/gunicorn.conf.py 'lti_tool:create_app()'`.

Every value can be overridden from the environment (GUNICORN_* below) so one file serves every host.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Launches wait on the platform's JWKS and token endpoints; a few threads per worker hide that latency.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
keepalive = 5
# The TLS-terminating proxy in front of us sets X-Forwarded-*; trust it only from these addresses.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
# Request lines carry launch ids in /c/<id>/ paths, never tokens; query strings are not logged.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
max_requests = 2000
max_requests_jitter = 200


def on_starting(server):
    """Before any socket opens: refuse an open /metrics on a public bind (lti_tool/exposure.py)."""
    from lti_tool.exposure import refuse_open_metrics
    from lti_tool.settings import from_environment

    refuse_open_metrics(from_environment(), server.cfg.bind)
