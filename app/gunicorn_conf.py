"""gunicorn hooks for the shop (``-c python:app.gunicorn_conf``); the command line or
GUNICORN_CMD_ARGS set workers, threads and the bind address.

The app is loaded in each worker after the fork (no ``preload_app``): the connection pool
and Redis connections are never shared between processes.
"""
from app.settings import Settings

# gunicorn's own access log is off: the app writes one JSON line per request
accesslog = None
# workers that stop answering (stuck beyond every timeout) are replaced
timeout = 30
graceful_timeout = 20
# reuse nginx's keepalive connections to the upstream
keepalive = 75
# as long as nginx's default large_client_header_buffers (8k): a long query string reaches
# the app, which answers a JSON 400, instead of gunicorn's HTML 414 at 4 KiB
limit_request_line = 8190


def worker_exit(server, worker):
    app = getattr(worker, "wsgi", None)
    close = getattr(app, "close", None)
    if close is not None:
        close()


def child_exit(server, worker):
    # prometheus multiprocess mode: drop the dead worker's live gauges
    if Settings.from_env().metrics_dir:
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
