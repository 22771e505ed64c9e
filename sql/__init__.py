"""The shop's schema (numbered migrations), its runner and the seed-data generator."""

# Migrations and bulk seeding may take longer than the statement timeout the app's role
# carries (ALTER ROLE ... SET statement_timeout, needed behind pgbouncer): each of their
# transactions lifts it for itself only. SET LOCAL also works through pgbouncer.
NO_STATEMENT_TIMEOUT = "SET LOCAL statement_timeout = 0"
