"""gunicorn settings for Kompas in production: `gunicorn -c gunicorn.conf.py wsgi:app`.

App processes keep no state of their own (sessions are signed cookies, data is in
PostgreSQL, rate limits in Redis when REDIS_URL is set), so workers and servers can be added
freely behind the reverse proxy.
"""

import gc
import multiprocessing
import os

from gunicorn.glogging import Logger

from app.services.access_log import RedactingFilter, redact_value

bind = os.environ.get("KOMPAS_BIND", "127.0.0.1:8000")
# One worker per core: Kompas's work is Python on the CPU, so more workers only queue for the
# same cores (bench/load_bench.py, 2 cores: 5 workers 688x the minimal route's p95, 2 workers
# 374x, the same mix). KOMPAS_WORKERS overrides it.
workers = int(os.environ.get("KOMPAS_WORKERS", max(2, multiprocessing.cpu_count())))
worker_class = "sync"
# The app is built once, in the master, and its templates compiled there (when_ready below):
# every worker, and every worker started again after max_requests, starts with them instead
# of compiling each template itself under load. Nothing connects to the database before the
# fork (engines connect at the first query), so no connection is shared between workers.
preload_app = True
timeout = 120  # a large import or report may take a while
graceful_timeout = 30
max_requests = 2000  # recycle workers now and then
max_requests_jitter = 200
forwarded_allow_ips = os.environ.get("KOMPAS_PROXY_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
# Kompas puts two secrets in URLs: set-password links and the calendar feed's token. The
# access log writes them as [redacted] in every field (request line, path, Referer, environ);
# deploy/nginx.conf keeps them out of the proxy's log too.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(L)ss'


class RedactingLogger(Logger):
    """gunicorn's logger, with tokens in URLs redacted from every access-log atom and from
    the error log's arguments ("Error handling request <uri>")."""

    def __init__(self, cfg):  # noqa: ANN001, ANN204 - gunicorn's
        super().__init__(cfg)
        self.error_log.addFilter(RedactingFilter())

    def atoms(self, resp, req, environ, request_time):  # noqa: ANN001, ANN201 - gunicorn's
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact_value(value) for key, value in atoms.items()}


logger_class = RedactingLogger


def when_ready(server):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    """Compile every template in the master, before the workers are forked; then move every
    object made so far (the app, its modules, models and templates: ~130,000 of them) out of
    the cycle collector's reach (gc.freeze, as Python's documentation advises before a fork).
    They live as long as the process anyway; without this, each of a worker's full
    collections walks them all (~90 ms on 2 cores, every few hundred requests, during one),
    and writes to their pages, which then stop being shared with the master."""
    app = server.app.wsgi()
    for name in app.jinja_env.list_templates(extensions=("html", "svg", "txt", "ics")):
        app.jinja_env.get_template(name)
    gc.collect()
    gc.freeze()
