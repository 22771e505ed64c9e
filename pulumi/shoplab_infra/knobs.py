"""Every stack setting with its default, read from Pulumi config or from a stack file.

The program (``pulumi/__main__.py``) and the cost model read the same keys through
``Knobs``, so a size changed in ``Pulumi.stageN.yaml`` changes both the plan and the bill.
Keys are the config names without the ``shoplab:`` namespace. Secrets are not knobs: they
are read with ``require_secret`` or generated (see ``stages.py``).

The sizing keys (instance classes, copies, gunicorn workers and threads, pool size, the
database's max_connections) default to the stage's row of ``capacity/shapes.py``, the table
the roles, the k8s values and the image read too; a stack file may still override them.
"""
from __future__ import annotations

from pathlib import Path

from app.settings import Settings
from capacity.shapes import pulumi_defaults
from edge import tls

PROJECT = "shoplab"
_APP = Settings()

DEFAULTS: dict[str, object] = {
    # --- where and what --------------------------------------------------------------
    # The image every host of the stack runs, pinned per stack (`pulumi config set amiId ami-…`):
    # changing it is how hosts are rolled on purpose (pulumi/README.md). Required on stages
    # with hosts unless amiFollowLatest is true.
    "amiId": "",
    # true: take the newest image matching amiOwner/amiNameFilter instead of a pin, so every
    # `up` after Debian publishes one replaces the hosts. Never together with amiId.
    "amiFollowLatest": False,
    "amiOwner": "136693071363",       # Debian's official AWS account
    "amiNameFilter": "debian-12-amd64-*",
    # --- what outlives `pulumi destroy` (retention.py) -----------------------------------
    # true only in a throwaway lab account: no protect, no RDS deletion protection or final
    # snapshots, automated backups deleted with the instance, ECR deleted with its images
    "labTeardown": False,
    # --- network (stages 2-4) --------------------------------------------------------
    "vpcCidr": "10.20.0.0/16",
    "publicSubnetCidrs": ["10.20.0.0/24", "10.20.1.0/24"],
    "privateSubnetCidrs": ["10.20.10.0/24", "10.20.11.0/24"],
    # --- who may reach what ----------------------------------------------------------
    # adminCidrs (SSH, k3s API) has no default: it must be the operator's address.
    "webCidrs": ["0.0.0.0/0"],        # the shop is public on 80/443
    "httpPort": tls.HTTP_PORT,        # the public edge's ports (edge/tls.py): 80 only redirects
    "httpsPort": tls.HTTPS_PORT,
    "sshPort": 22,
    # --- TLS at the edge (certificate.py) ------------------------------------------------
    # The shop's public name, per operator. Required on stages 2 and 3 (the ALB serves HTTPS
    # only); on stage 1 it is the url output's host (nginx holds the certificate).
    "domainName": "",
    # stages 2-3: an ACM certificate issued or imported for domainName; empty: the stack
    # requests one with DNS validation
    "certificateArn": "",
    # stages 2-3: the Route 53 zone of domainName, where the stack writes the validation record;
    # empty: the operator adds it (logged during `up`, output certificate_validation_records)
    "hostedZoneId": "",
    # --- app hosts (stages 1 and 2) --------------------------------------------------
    "rootVolumeGb": 20,
    "dataVolumeGb": 20,               # stage 1: PostgreSQL's own EBS volume (data_volume.py)
    "dataVolumeZone": "",             # its AZ, and the host's; empty: the region's first available
    "appPort": 8000,                  # target group port: nginx on stage-2 hosts, gunicorn in tasks
    # --- load balancer ---------------------------------------------------------------
    "healthCheckPath": "/healthz",    # liveness without the DB: probes must not use the pool
    "healthCheckInterval": 30,        # the reference saw 5 s probes take 20% of its pool
    "healthCheckTimeout": 5,
    "healthyThreshold": 2,
    "unhealthyThreshold": 3,
    "deregistrationDelay": 30,
    # --- database --------------------------------------------------------------------
    "dbEngineVersion": "15",
    "dbParameterFamily": "postgres15",
    "dbAllocatedStorageGb": 20,
    "dbName": "shop",
    "dbUser": "shop",                 # the master user: owns the schema, runs the migrations
    "dbAppUser": "shop_app",          # the app's own role: rows only (sql/app_role.py)
    "dbPort": 5432,
    # the CA RDS signs the instance's certificate with; clients verify it against the region's
    # bundle from AWS's trust store (output db_ca_bundle_url), which holds this CA
    "dbCaCertificate": "rds-ca-rsa2048-g1",
    "dbReservedConnections": 10,      # superuser, RDS agent, migrations, a psql session
    "dbStatementTimeoutMs": _APP.statement_timeout_ms,
    "dbIdleInTransactionTimeoutMs": 60000,
    "dbBackupRetentionDays": 7,       # at least retention.MIN_BACKUP_RETENTION_DAYS
    "dbMultiAz": False,
    # --- cache -----------------------------------------------------------------------
    "cacheEngineVersion": "7.1",
    "cacheParameterGroup": "default.redis7",
    "cachePort": 6379,
    "cacheNodes": 1,
    "cacheTransitEncryption": True,
    # --- containers (stage 3) --------------------------------------------------------
    "scaleCpuTarget": 60,             # percent
    "scaleRequestsPerTarget": 1000,   # ALB requests per task per minute
    # The shop's image in the stack's ECR repository, by digest ("sha256:…", what
    # `podman push --digestfile` writes; pulumi/README.md, "Stage 3"). "" = none pushed yet:
    # the stack creates the repository and not the service.
    "imageDigest": "",
    "logRetentionDays": 14,
    "stripePublishableKey": "pk_test_shoplab",
    "stripeApiBase": "",
    # --- k3s (stage 4) ---------------------------------------------------------------
    "k3sRootVolumeGb": 30,
    "k3sApiPort": 6443,
    "deployWorkload": True,           # false for the first `up`, before k3s exists
    "workload": {},                   # overrides of k8s.manifests.default_values()
    # --- the app (stages 3 and 4 set its environment; stage 2 hosts get it from Ansible) -
    "appSettings": {},                # overrides of app/settings.py defaults, by env name
}


# Settings that no longer exist, with what replaced them: a stack that still sets one fails
# instead of having the value silently ignored.
RETIRED = {
    "dbDeletionProtection": "shoplab:labTeardown (retention.py) decides RDS deletion "
                            "protection, final snapshots and backups",
    "imageTag": "shoplab:imageDigest names the pushed image (its sha256 digest), so a task runs "
                "exactly what was pushed",
}


def refuse_retired(lookup) -> None:
    """Raise when ``lookup`` (key -> configured value or None) sets a retired key."""
    stale = [key for key in RETIRED if lookup(key) is not None]
    if stale:
        raise ValueError("; ".join(f"shoplab:{key} no longer exists: {RETIRED[key]}"
                                   for key in stale))


def sizing_defaults(stage: str | None) -> dict:
    """The sizing knobs' defaults: ``stage``'s own row first, then each remaining key as the
    stage that owns it sets it (stage 2 winning for the shared ones; the cost model's
    what-ifs name no stage)."""
    merged: dict = {}
    for name in ("4", "3", "2", *([stage] if stage else [])):
        merged.update(pulumi_defaults(name))
    return merged


# every key with a default of its type (the sizing keys as the stage that owns them sets them)
ALL_DEFAULTS = {**DEFAULTS, **sizing_defaults(None)}


class Knobs:
    """Typed access to settings: ``get(key)`` returns the configured value or the default
    (for a sizing key, the default of ``stage``'s shape)."""

    def __init__(self, lookup, stage: str | None = None):
        self._lookup = lookup           # key -> configured value or None
        self._defaults = {**DEFAULTS, **sizing_defaults(stage)}

    def get(self, key: str):
        if key not in ALL_DEFAULTS:
            raise KeyError(f"{key}: not a shoplab setting (see knobs.DEFAULTS, capacity/shapes.py)")
        value = self._lookup(key)
        return self._defaults[key] if value is None else value

    def int(self, key: str) -> int:
        return int(self.get(key))

    def bool(self, key: str) -> bool:
        value = self.get(key)
        return value if isinstance(value, bool) else str(value).lower() == "true"

    def list(self, key: str) -> list:
        value = self.get(key)
        return [value] if isinstance(value, str) else list(value)


def from_pulumi_config(config, stage: str | None = None) -> Knobs:
    """Knobs backed by ``pulumi.Config()`` (typed getters, so `"3"` in YAML reads as 3)."""
    refuse_retired(config.get)

    def lookup(key: str):
        default = ALL_DEFAULTS[key]
        if isinstance(default, bool):
            return config.get_bool(key)
        if isinstance(default, int):
            return config.get_int(key)
        if isinstance(default, (list, dict)):
            return config.get_object(key)
        return config.get(key)
    return Knobs(lookup, stage)


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
    refuse_retired(values.get)
    return Knobs(values.get, stack)
