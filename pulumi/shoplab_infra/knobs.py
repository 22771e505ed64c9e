"""Every stack setting with its default, read from Pulumi config or from a stack file.

The program (``pulumi/__main__.py``) and the cost model read the same keys through
``Knobs``, so a size changed in ``Pulumi.stageN.yaml`` changes both the plan and the bill.
Keys are the config names without the ``shoplab:`` namespace. Secrets are not knobs: they
are read with ``require_secret`` or generated (see ``stages.py``).
"""
from __future__ import annotations

from pathlib import Path

from app.settings import Settings

PROJECT = "shoplab"
_APP = Settings()

DEFAULTS: dict[str, object] = {
    # --- where and what --------------------------------------------------------------
    "amiId": "",                      # empty: latest Debian 12 amd64 AMI from Debian's account
    "amiOwner": "136693071363",       # Debian's official AWS account
    "amiNameFilter": "debian-12-amd64-*",
    # --- network (stages 2-4) --------------------------------------------------------
    "vpcCidr": "10.20.0.0/16",
    "publicSubnetCidrs": ["10.20.0.0/24", "10.20.1.0/24"],
    "privateSubnetCidrs": ["10.20.10.0/24", "10.20.11.0/24"],
    # --- who may reach what ----------------------------------------------------------
    # adminCidrs (SSH, k3s API, NodePort) has no default: it must be the operator's address.
    "webCidrs": ["0.0.0.0/0"],        # the shop is public on 80/443
    "httpPort": 80,
    "httpsPort": 443,
    "sshPort": 22,
    # --- app hosts (stages 1 and 2) --------------------------------------------------
    "instanceType": "t3.small",
    "appCount": 2,                    # stage 2; stage 1 is one host by definition
    "rootVolumeGb": 20,
    "appPort": 8000,                  # target group port: nginx on stage-2 hosts, gunicorn in tasks
    "gunicornWorkers": 2,             # per host / task / pod: enters the connection budget
    "gunicornThreads": 4,
    "dbPoolMaxSize": _APP.pool_max_size,
    # --- load balancer ---------------------------------------------------------------
    "healthCheckPath": "/healthz",    # liveness without the DB: probes must not use the pool
    "healthCheckInterval": 30,        # the reference saw 5 s probes take 20% of its pool
    "healthCheckTimeout": 5,
    "healthyThreshold": 2,
    "unhealthyThreshold": 3,
    "deregistrationDelay": 30,
    # --- database --------------------------------------------------------------------
    "dbInstanceClass": "db.t3.micro",
    "dbEngineVersion": "15",
    "dbParameterFamily": "postgres15",
    "dbAllocatedStorageGb": 20,
    "dbName": "shop",
    "dbUser": "shop",
    "dbPort": 5432,
    "dbMaxConnections": 80,           # db.t3.micro's memory allows ~87; keep under it
    "dbReservedConnections": 10,      # superuser, RDS agent, migrations, a psql session
    "dbStatementTimeoutMs": _APP.statement_timeout_ms,
    "dbIdleInTransactionTimeoutMs": 60000,
    "dbBackupRetentionDays": 7,
    "dbMultiAz": False,
    "dbDeletionProtection": False,    # a lab: `pulumi destroy` must work
    # --- cache -----------------------------------------------------------------------
    "cacheNodeType": "cache.t3.micro",
    "cacheEngineVersion": "7.1",
    "cacheParameterGroup": "default.redis7",
    "cachePort": 6379,
    "cacheNodes": 1,
    "cacheTransitEncryption": True,
    # --- containers (stage 3) --------------------------------------------------------
    "taskCpu": 512,
    "taskMemory": 1024,
    "taskCount": 2,
    "taskMinCount": 2,
    "taskMaxCount": 6,
    "scaleCpuTarget": 60,             # percent
    "scaleRequestsPerTarget": 1000,   # ALB requests per task per minute
    "imageTag": "0.1.0",
    "logRetentionDays": 14,
    "stripePublishableKey": "pk_test_shoplab",
    "stripeApiBase": "",
    # --- k3s (stage 4) ---------------------------------------------------------------
    "k3sInstanceType": "t3.large",
    "k3sRootVolumeGb": 30,
    "k3sApiPort": 6443,
    "deployWorkload": True,           # false for the first `up`, before k3s exists
    "workload": {},                   # overrides of k8s.manifests.default_values()
    # --- the app (stages 3 and 4 set its environment; stage 2 hosts get it from Ansible) -
    "appSettings": {},                # overrides of app/settings.py defaults, by env name
}


class Knobs:
    """Typed access to settings: ``get(key)`` returns the configured value or the default."""

    def __init__(self, lookup):
        self._lookup = lookup           # key -> configured value or None

    def get(self, key: str):
        if key not in DEFAULTS:
            raise KeyError(f"{key}: not a shoplab setting (see knobs.DEFAULTS)")
        value = self._lookup(key)
        return DEFAULTS[key] if value is None else value

    def int(self, key: str) -> int:
        return int(self.get(key))

    def bool(self, key: str) -> bool:
        value = self.get(key)
        return value if isinstance(value, bool) else str(value).lower() == "true"

    def list(self, key: str) -> list:
        value = self.get(key)
        return [value] if isinstance(value, str) else list(value)


def from_pulumi_config(config) -> Knobs:
    """Knobs backed by ``pulumi.Config()`` (typed getters, so `"3"` in YAML reads as 3)."""
    def lookup(key: str):
        default = DEFAULTS[key]
        if isinstance(default, bool):
            return config.get_bool(key)
        if isinstance(default, int):
            return config.get_int(key)
        if isinstance(default, (list, dict)):
            return config.get_object(key)
        return config.get(key)
    return Knobs(lookup)


def stack_config(stack: str, root: Path | None = None) -> dict:
    """The ``shoplab:`` keys of ``Pulumi.<stack>.yaml`` as a plain dict (secure values skipped)."""
    import yaml
    root = root or Path(__file__).resolve().parents[2]
    data = yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")) or {}
    prefix = f"{PROJECT}:"
    return {k[len(prefix):]: v for k, v in (data.get("config") or {}).items()
            if k.startswith(prefix) and not (isinstance(v, dict) and "secure" in v)}


def from_stack_file(stack: str, root: Path | None = None) -> Knobs:
    values = stack_config(stack, root)
    return Knobs(values.get)
