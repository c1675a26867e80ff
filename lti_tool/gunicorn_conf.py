"""Gunicorn settings for production, shipped in the package (`pathways serve` uses them).

Values come from Pathways' settings (PATHWAYS_WEB_*, PATHWAYS_FORWARDED_ALLOW_IPS; see lti_tool/settings.py),
so one env file configures the app and its server. Plain gunicorn can use the same file:
`gunicorn -c python:lti_tool.gunicorn_conf 'lti_tool:create_app()'`.
"""

import multiprocessing

from lti_tool.settings import env_setting

bind = env_setting("WEB_BIND")
# Launches wait on the platform's JWKS and token endpoints; a few threads per worker hide that latency.
workers = env_setting("WEB_WORKERS") or multiprocessing.cpu_count() * 2 + 1
threads = env_setting("WEB_THREADS")
worker_class = "gthread"
timeout = env_setting("WEB_TIMEOUT_SECONDS")
graceful_timeout = 30
keepalive = 5
# The TLS-terminating proxy in front of us sets X-Forwarded-*; trust it only from these addresses.
forwarded_allow_ips = ",".join(env_setting("FORWARDED_ALLOW_IPS").replace(",", " ").split())
accesslog = "-"
errorlog = "-"
# Request lines carry launch ids in /c/<id>/ paths, never tokens; query strings are not logged.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
max_requests = 2000
max_requests_jitter = 200
# Several Pathways (or other gunicorn) instances may share a host and user; none needs the admin socket.
control_socket_disable = True


def on_starting(server):
    """Before any socket opens: refuse demo-only settings, and an open /metrics on a public bind (exposure.py)."""
    from lti_tool.exposure import refuse_open_metrics
    from lti_tool.settings import InvalidSetting, from_environment, refuse_demo_settings

    config = from_environment()
    try:
        refuse_demo_settings(config)
    except InvalidSetting as exc:
        raise SystemExit(str(exc)) from None
    refuse_open_metrics(config, server.cfg.bind)


def post_worker_init(worker):
    """After the worker has loaded the app: take the app's own objects out of the garbage collector's scans.

    A worker holds about 140,000 objects once the app is loaded (modules, the app, its routes, SQLAlchemy's
    mappings, Jinja's environment), all alive until the worker exits. Every full collection walked them all:
    about 80 ms of CPU each, in the middle of whichever request triggered it. gc.freeze() moves what is alive
    now into a permanent generation the collector no longer walks; the garbage of loading goes first, so that
    nothing dead is kept for the worker's life. Objects made later (caches, requests) are collected as before.
    """
    import gc

    gc.collect()
    gc.freeze()
