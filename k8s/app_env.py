"""The app's environment on Kubernetes: which settings are secret, and the ConfigMap's data.

Every name and default comes from ``app/settings.py``; this module only decides where each
one lives (ConfigMap or Secret) and how a values file overrides it.
"""
from __future__ import annotations

from app.settings import Settings

# Settings that carry credentials: referenced from the Secret, never put in the ConfigMap.
# STRIPE_API_BASE is only a URL (the fake Stripe in the lab), so it stays in the ConfigMap.
SECRET_SETTINGS = ("DATABASE_URL", "REDIS_URL", "JWT_SECRET",
                   "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")


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
