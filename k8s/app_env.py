"""The app's environment in containers: which settings are secret, the ConfigMap's data, and
how its periodic job (the reaper) is run.

Every name and default comes from ``app/settings.py``; this module only decides where each
one lives (ConfigMap or Secret) and how a values file overrides it. The stage-3 task
definition (Pulumi) and the stage-4 objects (``k8s.manifests``) both read it.
"""
from __future__ import annotations

from app.settings import Settings
from sql import OWNER_URL_ENV

# Settings that carry credentials: referenced from the Secret, never put in the ConfigMap.
# STRIPE_API_BASE is only a URL (the fake Stripe in the lab), so it stays in the ConfigMap.
SECRET_SETTINGS = ("DATABASE_URL", "REDIS_URL", "JWT_SECRET",
                   "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")
# The migrator's own credential (the schema owner's URL, sql.OWNER_URL_ENV): not an app
# setting. In the same Secret or task secret when the deployment has it, but only the migrate
# container reads it; without it the migrations run as DATABASE_URL's role.
MIGRATOR_SECRETS = (OWNER_URL_ENV,)

# The reaper (app/reaper.py): one pass per run (expire lapsed order holds, retry refunds of
# late payments, purge idempotency keys older than 24 h); exit 0 when the pass completed,
# non-zero when it could not (database unreachable). Safe to run several at once (row locks
# with SKIP LOCKED). Run with the app's image and environment by the stage-3 EventBridge rule,
# the stage-4 CronJob and the stage-3 lab's stand-in; hosts (stages 1-2) have the shop_app
# role's timer, whose default interval (shop_app_reaper_interval) a test holds equal to this.
REAPER_COMMAND = ("python", "-m", "app.reaper")
# The migrations (sql/migrate.py): applies what is pending under a transaction-scoped advisory
# lock, so copies started at once apply each file once; exit 0 when the schema is current. Run
# before the shop serves: the stage-3 task's first container (Pulumi), the stage-3 lab's
# one-off container, the hosts' shop_app role (one app host per run).
MIGRATE_COMMAND = ("python", "-m", "sql.migrate")
REAPER_INTERVAL_MINUTES = 1
# a pass that takes longer is stopped (CronJob activeDeadlineSeconds, the lab's `timeout`)
REAPER_DEADLINE_SECONDS = 300


def app_config(values: dict) -> dict[str, str]:
    """The non-secret settings as the ConfigMap's data: app defaults plus ``values["settings"]``."""
    known = {env: default for env, default, _ in Settings.describe()}
    overrides = values.get("settings") or {}
    for env in overrides:
        if env not in known:
            raise ValueError(f"settings.{env}: not a setting of app/settings.py")
        if env in SECRET_SETTINGS:
            raise ValueError(f"settings.{env}: a secret; supply it in the Secret at deploy time")
    return {env: _env_text(overrides.get(env, default))
            for env, default in known.items() if env not in SECRET_SETTINGS}


def _env_text(value) -> str:
    """The string form Settings.from_env reads back (bools as true/false, None as none)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    return str(value)
