"""The shop's schema (numbered migrations), its runner and the seed-data generator."""
import os

# Migrations and bulk seeding may take longer than the statement timeout the app's role
# carries (ALTER ROLE ... SET statement_timeout, needed behind pgbouncer): each of their
# transactions lifts it for itself only. SET LOCAL also works through pgbouncer.
NO_STATEMENT_TIMEOUT = "SET LOCAL statement_timeout = 0"

# The schema owner's libpq URL, for the migrator and the seeder only (their --database-url
# wins). Not an app setting on purpose: the app never holds it. Unset: they run as
# DATABASE_URL's role, which then owns the schema (one role for everything).
OWNER_URL_ENV = "MIGRATION_DATABASE_URL"


def owner_url(given: str | None, app_url: str) -> str:
    """The URL the migrator and the seeder connect with: --database-url, the owner's, the app's."""
    return given or os.environ.get(OWNER_URL_ENV) or app_url
