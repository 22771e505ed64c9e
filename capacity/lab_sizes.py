"""The capacity lab's host sizes: each lab container limited like the instance it stands for.

A size profile names, per stage, the instance class of each tier:

* ``reference``: the reference system's own classes (t2.small hosts, db.t3.micro,
  cache.t3.micro, Fargate 512/1024 tasks; seed-system.md sections 6-7);
* ``stack``: the classes Shoplab's stacks deploy (capacity/shapes.py, which the Pulumi
  stacks read).

One lab scale for every stage and profile: ``LAB_CORES_PER_VCPU`` cores of this machine per
vCPU of the class (default 0.125, so stage 2's six to eight vCPUs fit the one core the system
under test gets). Memory is not scaled: a t2.small container gets its 2 GiB. The lab load
balancer (HAProxy or nginx standing in for the ALB, which AWS does not size) gets ``LB_CORES`` and is
watched like any host. ``credits="exhausted"`` gives a burstable class only its baseline
(a t2 whose CPU credits ran out); the default ``burst`` gives it its full vCPUs.

The machine's CPUs are split in two sets: the system under test (every lab host) and the
load generator (locust, the open-loop generator, samplers, Prometheus). The CFS period is
shortened (``PERIOD_US``) so a small quota is spent in short slices, not one long stall.

    python -m capacity.lab_sizes ansible/inventories/lab-stage2 --profile reference [--json F]
        -> one line per host: <name> <container> <groups,...> <size label> <podman run flags...>
           and, with --json, F = {"lab_sizes": {inventory host: limits, container, groups},
           "lab_profile": ...} (Ansible extra vars; the capacity round reads the tiers there)
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from dataclasses import asdict, dataclass

from capacity import instances
from capacity.shapes import shape

# The lab's Prometheus (roles/monitoring) measures hosts an eighth of a core per vCPU, where a
# scrape's fixed CPU is eight times its share of an instance's: scrape every 5 s instead of the
# role's 2 s, and without node exporter's systemd collector (its D-Bus queries cost most of a
# scrape; in a container node exporter reads the whole machine's /proc, not the host's, anyway).
# Measured on stage 2's idle lab (loadtest/results/capacity/monitoring-overhead-stage2.txt):
# app1 used 0.038 of its 0.125 cores with the role's defaults, 0.004 with these, 0.001 with
# Prometheus stopped. Ansible extra vars of every lab deploy (sizes.json).
LAB_MONITORING = {"monitoring_scrape_interval": "5s", "monitoring_scrape_timeout": "5s",
                  "monitoring_node_exporter_disabled_collectors": ["systemd"]}
PROFILES = ("reference", "stack")
CREDITS = ("burst", "exhausted")
DEFAULT_CORES_PER_VCPU = 0.125
LB_CORES = 0.25            # the ALB stand-in's share: not a sized instance
LB_MEMORY_MIB = 512
MONITORING_MEMORY_MIB = 1024
PERIOD_US = 10_000         # CFS period: 10 ms instead of the kernel's 100 ms
MIN_QUOTA_US = 1_000       # the kernel's smallest quota

# the reference's classes by stage and tier (seed-system.md: stage 1 one t2.small with every
# tier; stage 2 two t2.small, RDS db.t3.micro, ElastiCache cache.t3.micro; stage 3 Fargate
# 512/1024 tasks on the same data tier)
REFERENCE = {
    "1": {"app": "t2.small"},
    "2": {"app": "t2.small", "db": "db.t3.micro", "redis": "cache.t3.micro"},
    "3": {"app": "fargate-512-1024", "db": "db.t3.micro", "redis": "cache.t3.micro"},
}


def tier_classes(stage: str, profile: str) -> dict[str, str]:
    """{tier: instance class} of a lab stage under a profile (stage 1: one host, "app")."""
    if profile == "reference":
        if stage not in REFERENCE:
            raise ValueError(f"profile reference: no lab stage {stage} (stages {', '.join(REFERENCE)})")
        return dict(REFERENCE[stage])
    if profile != "stack":
        raise ValueError(f"profile {profile!r}: expected one of {', '.join(PROFILES)}")
    s = shape(stage)
    return {"app": s.app_class, **({"db": s.db_class} if s.db_class else {}),
            **({"redis": s.cache_class} if s.cache_class else {})}


def cores_per_vcpu() -> float:
    value = float(os.environ.get("LAB_CORES_PER_VCPU", DEFAULT_CORES_PER_VCPU))
    if not 0 < value <= 1:
        raise ValueError(f"LAB_CORES_PER_VCPU={value}: expected a share of a core in (0, 1]")
    return value


def cpu_sets(ncpu: int | None = None) -> tuple[str, str]:
    """(system under test, load generator) CPU lists: the first half and the second half."""
    ncpu = ncpu or os.cpu_count() or 1
    if ncpu < 2:
        raise ValueError("the capacity lab needs 2 CPUs: one set for the hosts, one for the generator")
    half = ncpu // 2
    span = lambda a, b: str(a) if b - a == 1 else f"{a}-{b - 1}"  # noqa: E731
    return span(0, half), span(half, ncpu)


@dataclass(frozen=True)
class Limits:
    instance_class: str        # what the container stands for ("load-balancer", "monitoring")
    cpus: float | None         # cores of this machine (None: no quota)
    cpu_period_us: int | None
    cpu_quota_us: int | None
    cpuset_cpus: str
    memory_mib: int

    def podman_flags(self) -> list[str]:
        flags = [f"--cpuset-cpus={self.cpuset_cpus}", f"--memory={self.memory_mib}m",
                 f"--memory-swap={self.memory_mib}m"]
        if self.cpu_quota_us:
            flags += [f"--cpu-period={self.cpu_period_us}", f"--cpu-quota={self.cpu_quota_us}"]
        return flags

    def label(self) -> str:
        """What a container was created with: compared to recreate one whose size changed."""
        return (f"{self.instance_class}/{self.cpu_quota_us or 0}:{self.cpu_period_us or 0}/"
                f"{self.cpuset_cpus}/{self.memory_mib}m")


def quota(cores: float) -> tuple[int, int]:
    """(period, quota) in µs for a share of a core: PERIOD_US, lengthened only when the quota
    would fall below the kernel's minimum."""
    period = max(PERIOD_US, math.ceil(MIN_QUOTA_US / cores))
    return period, max(MIN_QUOTA_US, round(cores * period))


def class_limits(name: str, scale: float, credits: str, cpuset: str) -> Limits:
    cls = instances.get(name)
    if credits not in CREDITS:
        raise ValueError(f"credits {credits!r}: expected one of {', '.join(CREDITS)}")
    share = cls.baseline if (credits == "exhausted" and cls.burstable) else 1.0
    cores = cls.vcpu * share * scale
    period, q = quota(cores)
    return Limits(name, round(cores, 4), period, q, cpuset, cls.memory_mib)


def host_tier(groups: list[str]) -> str:
    """The tier whose class sizes a host: a host holding several (stage 1) is its app host."""
    for tier in ("app", "app_image", "db", "redis", "alb", "lb", "monitoring"):
        if tier in groups:
            return {"app_image": "app", "alb": "lb"}.get(tier, tier)
    raise ValueError(f"a lab host in none of the sized groups: {groups}")


def host_limits(stage: str, profile: str, groups: list[str], credits: str = "burst",
                scale: float | None = None, ncpu: int | None = None) -> Limits:
    sut, generator = cpu_sets(ncpu)
    scale = cores_per_vcpu() if scale is None else scale
    tier = host_tier(groups)
    if tier == "monitoring":   # measures the system: runs beside the generator, unlimited CPU
        return Limits("monitoring", None, None, None, generator, MONITORING_MEMORY_MIB)
    if tier == "lb":
        period, q = quota(LB_CORES)
        return Limits("load-balancer", LB_CORES, period, q, sut, LB_MEMORY_MIB)
    return class_limits(tier_classes(stage, profile)[tier], scale, credits, sut)


def read_inventory(inventory: str) -> tuple[str, list[tuple[str, str, list[str]]]]:
    """(its ``shoplab_stage``, [(inventory name, container name, groups)] of every host)."""
    data = json.loads(subprocess.run(["ansible-inventory", "-i", inventory, "--list"],
                                     check=True, capture_output=True, text=True).stdout)
    hostvars = data["_meta"]["hostvars"]
    stages = {str(v.get("shoplab_stage")) for v in hostvars.values()}
    if len(stages) != 1 or None in stages:
        raise ValueError(f"{inventory}: every host needs the same shoplab_stage, found {stages}")
    return stages.pop(), [
        (h, hostvars[h].get("ansible_host", h),
         sorted(g for g, v in data.items() if isinstance(v, dict) and h in v.get("hosts", [])))
        for h in sorted(hostvars)]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("inventory")
    p.add_argument("--profile", default=os.environ.get("LAB_PROFILE", "reference"),
                   choices=PROFILES)
    p.add_argument("--credits", default=os.environ.get("LAB_CREDITS", "burst"), choices=CREDITS)
    p.add_argument("--json", metavar="FILE", help="also write the sizes there, as extra vars")
    args = p.parse_args(argv)
    stage, hosts = read_inventory(args.inventory)
    sizes = {name: host_limits(stage, args.profile, groups, args.credits)
             for name, _, groups in hosts}
    if args.json:
        with open(args.json, "w") as f:
            json.dump({**LAB_MONITORING, "lab_profile": args.profile, "lab_credits": args.credits,
                       "lab_cores_per_vcpu": cores_per_vcpu(),
                       "lab_sizes": {n: {**asdict(sizes[n]), "label": sizes[n].label(),
                                         "container": container, "groups": groups}
                                     for n, container, groups in hosts}}, f)
    for name, container, groups in hosts:
        print(name, container, ",".join(groups), sizes[name].label(),
              *sizes[name].podman_flags())
    return 0


if __name__ == "__main__":
    sys.exit(main())
