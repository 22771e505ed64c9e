"""gunicorn entry point: ``gunicorn app.wsgi:application -c python:app.gunicorn_conf``.

The environment is read once, here; each worker imports this module after the fork, so each
builds its own app and, on first use, its own connection pool.
"""
from app import create_app
from app.logs import configure_logging
from app.settings import Settings


def get_app():
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    return create_app(settings)


application = get_app()
