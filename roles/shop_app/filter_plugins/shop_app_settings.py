"""The ``shop_app_settings`` filter: every setting of the app this role deploys, with its default.

    {{ shop_app_src | shop_app_settings }}  ->  {"CART_TTL_SECONDS": "604800", ...}

The list is ``Settings.describe()`` of ``app/settings.py`` in the checkout the role ships
(``shop_app_src``), so a setting added to the app reaches the env file with no change to the
role. It is read by a child Python (the controller's, which runs Ansible) with that checkout as
its working directory: each checkout is imported fresh, whatever this process imported before.
Defaults come as the text ``Settings.from_env`` reads back: booleans as true/false, None as
none, anything else as ``str()``.
"""
from __future__ import annotations

import json
import subprocess
import sys

from ansible.errors import AnsibleFilterError

_DESCRIBE = """
import json
from app.settings import Settings

def text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return "none" if value is None else str(value)

print(json.dumps([[name, text(default)] for name, default, _ in Settings.describe()]))
"""


def shop_app_settings(src: str) -> dict[str, str]:
    """{variable: default text} for every setting of ``<src>/app/settings.py``, in its order."""
    try:
        run = subprocess.run([sys.executable, "-c", _DESCRIBE], cwd=str(src), capture_output=True,
                             text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AnsibleFilterError(f"shop_app_settings: cannot run Python in {src}: {exc}") from exc
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ["no output"])[-1]
        raise AnsibleFilterError(f"shop_app_settings: Settings.describe() from {src}/app/settings.py "
                                 f"failed: {last}")
    return dict(json.loads(run.stdout))


class FilterModule:
    """Ansible filter ``shop_app_settings``."""

    def filters(self):
        return {"shop_app_settings": shop_app_settings}
