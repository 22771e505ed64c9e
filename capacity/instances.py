"""AWS instance classes as the capacity lab needs them: vCPUs, memory and CPU-credit terms.

One row per class any stage or size profile names (EC2 hosts, RDS, ElastiCache, Fargate task
sizes). The lab (``capacity.lab_sizes``) turns a class into container limits; the pool
advisor reads RDS memory from here; the cost model keeps its own price list (prices are not
sizes).

Burstable classes (t2, t3) sustain ``baseline`` of each vCPU and earn ``credits_per_hour``
CPU credits (one credit = one vCPU at 100 % for one minute), up to ``max_credits``. A t2
in standard mode drops to its baseline when the credits run out; t3 launches in unlimited
mode (it keeps bursting and bills the surplus), so its baseline matters for the bill, not for
throughput. Figures: the EC2, RDS, ElastiCache and Fargate documentation (instance types,
burstable credit tables, task sizes), 2025.
"""
from __future__ import annotations

from dataclasses import dataclass

GIB = 1024 ** 3
MIB = 1024 ** 2


@dataclass(frozen=True)
class InstanceClass:
    name: str
    vcpu: float
    memory_mib: int
    baseline: float | None = None       # sustained fraction of each vCPU; None: not burstable
    credits_per_hour: float = 0.0
    max_credits: float = 0.0
    unlimited_by_default: bool = False  # t3: bursts past its credits and bills for it

    @property
    def burstable(self) -> bool:
        return self.baseline is not None

    @property
    def memory_bytes(self) -> int:
        return self.memory_mib * MIB


def _t(name, vcpu, gib, baseline, credits_h, unlimited):
    # a t-class's credit balance caps at 24 hours of earnings
    return InstanceClass(name, vcpu, int(gib * 1024), baseline, credits_h, 24 * credits_h,
                         unlimited)


CLASSES: dict[str, InstanceClass] = {c.name: c for c in (
    # EC2 (app hosts, the k3s host)
    _t("t2.micro", 1, 1, 0.10, 6, False),
    _t("t2.small", 1, 2, 0.20, 12, False),
    _t("t2.medium", 2, 4, 0.20, 24, False),
    _t("t3.micro", 2, 1, 0.10, 12, True),
    _t("t3.small", 2, 2, 0.20, 24, True),
    _t("t3.medium", 2, 4, 0.20, 24, True),
    _t("t3.large", 2, 8, 0.30, 36, True),
    # RDS and ElastiCache: the t3 credit terms of the same size. RDS runs its T3 classes in
    # unlimited mode; ElastiCache's t3 nodes are taken to do the same (not checked on AWS)
    _t("db.t3.micro", 2, 1, 0.10, 12, True),
    _t("db.t3.small", 2, 2, 0.20, 24, True),
    _t("db.t3.medium", 2, 4, 0.20, 24, True),
    _t("cache.t3.micro", 2, 0.5, 0.10, 12, True),
    _t("cache.t3.small", 2, 1.37, 0.20, 24, True),
)}
# RDS classes the pool advisor knows by memory alone (not sized in the lab)
RDS_MEMORY_GIB = {
    "db.t3.micro": 1, "db.t3.small": 2, "db.t3.medium": 4, "db.t3.large": 8,
    "db.t3.xlarge": 16, "db.t3.2xlarge": 32,
    "db.t4g.micro": 1, "db.t4g.small": 2, "db.t4g.medium": 4, "db.t4g.large": 8,
    "db.t4g.xlarge": 16, "db.t4g.2xlarge": 32,
    "db.m5.large": 8, "db.m5.xlarge": 16, "db.m5.2xlarge": 32, "db.m5.4xlarge": 64,
    "db.m6g.large": 8, "db.m6g.xlarge": 16, "db.m6g.2xlarge": 32, "db.m6g.4xlarge": 64,
    "db.r5.large": 16, "db.r5.xlarge": 32, "db.r5.2xlarge": 64,
    "db.r6g.large": 16, "db.r6g.xlarge": 32, "db.r6g.2xlarge": 64,
}


def fargate(cpu_units: int, memory_mib: int) -> InstanceClass:
    """A Fargate task size (1024 CPU units = 1 vCPU): a hard quota, never burstable."""
    return InstanceClass(f"fargate-{cpu_units}-{memory_mib}", cpu_units / 1024, memory_mib)


def get(name: str) -> InstanceClass:
    """The class called ``name`` (``fargate-<cpu units>-<MiB>`` for a task size)."""
    if name.startswith("fargate-"):
        cpu, mem = name.split("-")[1:]
        return fargate(int(cpu), int(mem))
    try:
        return CLASSES[name]
    except KeyError:
        raise KeyError(f"unknown instance class {name!r}; known: {', '.join(sorted(CLASSES))} "
                       "or fargate-<cpu units>-<MiB>") from None
