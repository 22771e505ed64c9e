"""The four stage compositions: which components each stack builds, wired together, and
the outputs the Ansible inventory and the report read (documented in pulumi/README.md).

Stages 2, 3 and 4 share the same Network, Database and Cache; only the compute in front of
them changes (two hosts, Fargate tasks, one k3s host)."""
from __future__ import annotations

import pulumi
import pulumi_random as random

from capacity.pool_budget import pool_budget
from k8s.app_env import REAPER_COMMAND, REAPER_INTERVAL_MINUTES, SECRET_SETTINGS, app_config
from k8s.manifests import merge_values
from shoplab_infra import data_volume, firewall
from shoplab_infra.app_hosts import AppHosts, AppHostsArgs
from shoplab_infra.cache import Cache, CacheArgs
from shoplab_infra.certificate import TlsSpec
from shoplab_infra.container_service import (ContainerService, ContainerServiceArgs,
                                             ScheduledCommand)
from shoplab_infra.data_volume import DataVolume, DataVolumeArgs
from shoplab_infra.database import Database, DatabaseArgs
from shoplab_infra.hosts import HostSpec
from shoplab_infra.k3s_host import K3sHost, K3sHostArgs
from shoplab_infra.knobs import Knobs
from shoplab_infra.load_balancer import LoadBalancer, LoadBalancerArgs
from shoplab_infra.network import Network, NetworkArgs
from shoplab_infra.retention import Retention
from shoplab_infra.shop_workload import ShopWorkload, ShopWorkloadArgs
from sql import OWNER_URL_ENV

SSH_USER = "ansible"        # created by the hosts' cloud-init (hosts.user_data)
# Proxies in front of stage 3's tasks that append the client's address to X-Forwarded-For:
# the ALB (TRUSTED_PROXY_HOPS; shoplab:appSettings overrides it). Stage 4's is in
# k8s.manifests.default_values (the ingress gateway), the hosts' in the shop_app role (nginx).
STAGE3_PROXY_HOPS = 1


def check_pool_budget(k: Knobs, copies_key: str, copies: int, workers: int,
                      pool_max_size: int) -> dict:
    """Fail the plan when the app could open more connections than the database allows:
    capacity/pool_budget.py's check, the one site.yml asserts, for pools straight to the database.
    ``copies`` is the most app hosts, tasks or pods the stack can run."""
    budget = pool_budget(app_hosts=copies, workers=workers, pool_max_size=pool_max_size,
                         max_connections=k.int("dbMaxConnections"), superuser_reserved=0,
                         reserved=k.int("dbReservedConnections"))
    if not budget["ok"]:
        raise ValueError(f"connection budget ({copies_key} {copies} app copies): "
                         f"{budget['message']}; lower dbPoolMaxSize, gunicornWorkers or "
                         f"{copies_key}")
    return budget


def _budget(k: Knobs, count_key: str) -> None:
    check_pool_budget(k, count_key, k.int(count_key), k.int("gunicornWorkers"),
                      k.int("dbPoolMaxSize"))


def app_settings(k: Knobs) -> dict:
    """Overrides of app/settings.py defaults that the stack decides (by env name)."""
    return {"DB_POOL_MAX_SIZE": k.int("dbPoolMaxSize"),
            "STRIPE_PUBLISHABLE_KEY": k.get("stripePublishableKey"),
            "STRIPE_API_BASE": k.get("stripeApiBase"),
            **k.get("appSettings")}


def app_secrets(stage: str, config: pulumi.Config, database_url, redis_url) -> dict:
    """The secret settings (k8s.app_env.SECRET_SETTINGS): generated or from secret config."""
    jwt = random.RandomPassword(f"{stage}-jwt-secret", length=48, special=False)
    secrets = {"DATABASE_URL": database_url,
               "REDIS_URL": pulumi.Output.secret(redis_url),
               "JWT_SECRET": jwt.result,
               "STRIPE_SECRET_KEY": config.require_secret("stripeSecretKey"),
               "STRIPE_WEBHOOK_SECRET": config.require_secret("stripeWebhookSecret")}
    assert set(secrets) == set(SECRET_SETTINGS), "app secrets out of step with k8s.app_env"
    return secrets


def migrator_secrets(db: Database) -> dict:
    """The migrator's own secret (k8s.app_env.MIGRATOR_SECRETS): the master user's URL."""
    return {OWNER_URL_ENV: db.owner_url}


def _host(k: Knobs, config: pulumi.Config, type_key: str, volume_key: str) -> HostSpec:
    """The hosts' settings; called before anything is created, so a missing image pin fails
    the plan with nothing half-built."""
    return HostSpec(instance_type=k.get(type_key), root_volume_gb=k.int(volume_key),
                    ssh_public_key=config.require("sshPublicKey"), ami_id=k.get("amiId"),
                    ami_follow_latest=k.bool("amiFollowLatest"), ami_owner=k.get("amiOwner"),
                    ami_name_filter=k.get("amiNameFilter"))


def _retention(stage: str, k: Knobs) -> Retention:
    return Retention(stage, lab_teardown=k.bool("labTeardown"),
                     backup_retention_days=k.int("dbBackupRetentionDays"))


def _admin_cidrs(config: pulumi.Config) -> list[str]:
    cidrs = config.require_object("adminCidrs")
    if isinstance(cidrs, str):
        cidrs = [cidrs]
    open_to_all = [c for c in cidrs if c.endswith("/0")]
    if open_to_all:
        raise ValueError(f"adminCidrs {open_to_all}: SSH and the k3s API are never open to all")
    return cidrs


def _tls(k: Knobs) -> TlsSpec:
    return TlsSpec(domain_name=k.get("domainName"), certificate_arn=k.get("certificateArn"),
                   hosted_zone_id=k.get("hostedZoneId"))


def _network(stage: str, k: Knobs) -> Network:
    return Network("net", NetworkArgs(stage=stage, cidr=k.get("vpcCidr"),
                                      public_subnet_cidrs=k.list("publicSubnetCidrs"),
                                      private_subnet_cidrs=k.list("privateSubnetCidrs")))


def _data_tier(stage: str, k: Knobs, retention: Retention, network: Network,
               client_group_ids: list):
    db = Database("db", DatabaseArgs(
        stage=stage, vpc_id=network.vpc_id, subnet_ids=network.private_subnet_ids,
        client_group_ids=client_group_ids, instance_class=k.get("dbInstanceClass"),
        engine_version=k.get("dbEngineVersion"), parameter_family=k.get("dbParameterFamily"),
        allocated_storage_gb=k.int("dbAllocatedStorageGb"), db_name=k.get("dbName"),
        username=k.get("dbUser"), app_username=k.get("dbAppUser"), port=k.int("dbPort"),
        ca_certificate=k.get("dbCaCertificate"),
        max_connections=k.int("dbMaxConnections"),
        statement_timeout_ms=k.int("dbStatementTimeoutMs"),
        idle_in_transaction_timeout_ms=k.int("dbIdleInTransactionTimeoutMs"),
        retention=retention, multi_az=k.bool("dbMultiAz")))
    cache = Cache("cache", CacheArgs(
        stage=stage, vpc_id=network.vpc_id, subnet_ids=network.private_subnet_ids,
        client_group_ids=client_group_ids, node_type=k.get("cacheNodeType"),
        engine_version=k.get("cacheEngineVersion"), parameter_group=k.get("cacheParameterGroup"),
        port=k.int("cachePort"), nodes=k.int("cacheNodes"),
        transit_encryption=k.bool("cacheTransitEncryption"), retention=retention))
    return db, cache


def _data_outputs(db: Database, cache: Cache, k: Knobs) -> dict:
    return {"db_address": db.address, "db_port": db.port, "db_name": k.get("dbName"),
            "db_max_connections": k.int("dbMaxConnections"),
            # the master user (migrations only) and the app's own role
            "db_user": k.get("dbUser"), "db_password": db.password,
            "db_app_user": k.get("dbAppUser"), "db_app_password": db.app_password,
            "database_url": db.url, "migration_database_url": db.owner_url,
            "db_ca_bundle_url": db.ca_bundle_url,
            "redis_address": cache.address, "redis_port": cache.port, "redis_url": cache.url,
            # null without in-transit encryption (ElastiCache's AUTH needs TLS)
            "redis_auth_token": cache.auth_token}


def _load_balancer(stage: str, k: Knobs, tls: TlsSpec, network: Network,
                   target_type: str) -> LoadBalancer:
    return LoadBalancer("web", LoadBalancerArgs(
        stage=stage, vpc_id=network.vpc_id, subnet_ids=network.public_subnet_ids,
        web_cidrs=k.list("webCidrs"), http_port=k.int("httpPort"),
        https_port=k.int("httpsPort"), tls=tls,
        target_port=k.int("appPort"), target_type=target_type,
        health_check_path=k.get("healthCheckPath"),
        health_check_interval=k.int("healthCheckInterval"),
        health_check_timeout=k.int("healthCheckTimeout"),
        healthy_threshold=k.int("healthyThreshold"),
        unhealthy_threshold=k.int("unhealthyThreshold"),
        deregistration_delay=k.int("deregistrationDelay")))


def _edge_outputs(lb: LoadBalancer) -> dict:
    """The shop's URL, the ALB's name (the target of the domain's CNAME or alias record) and,
    for a certificate the stack requested, its DNS validation records."""
    records = lb.certificate.validation_records
    return {"url": lb.url, "alb_dns_name": lb.dns_name,
            **({"certificate_validation_records": records} if records is not None else {})}


def stage1(k: Knobs, config: pulumi.Config) -> dict:
    """One host in the default VPC running everything (nginx, gunicorn, Postgres, Redis),
    PostgreSQL's data on a volume of its own that outlives the host."""
    host, retention = _host(k, config, "instanceType", "rootVolumeGb"), _retention("stage1", k)
    tls, web = _tls(k), k.list("webCidrs")
    zone = data_volume.zone(k.get("dataVolumeZone"))
    hosts = AppHosts("app", AppHostsArgs(
        stage="stage1", host=host, count=1, subnet_ids=[None], availability_zone=zone,
        admin_cidrs=_admin_cidrs(config), ssh_port=k.int("sshPort"),
        open_ports=[(k.int("httpPort"), web, "http from the web"),
                    (k.int("httpsPort"), web, "https from the web")],
        elastic_ip=True))
    data = DataVolume("pgdata", DataVolumeArgs(
        stage="stage1", instance_id=hosts.instances[0].id, availability_zone=zone,
        size_gb=k.int("dataVolumeGb"), retention=retention))
    return {"host_public_ip": hosts.public_ips[0], "host_private_ip": hosts.private_ips[0],
            "ssh_user": SSH_USER,
            "url": tls.url(hosts.public_ips[0]),
            "data_volume_id": data.volume_id, "data_volume_device": data.os_device}


def stage2(k: Knobs, config: pulumi.Config) -> dict:
    """ALB -> two app hosts (gunicorn) -> RDS PostgreSQL and ElastiCache Redis."""
    _budget(k, "appCount")
    host, retention = _host(k, config, "instanceType", "rootVolumeGb"), _retention("stage2", k)
    tls = _tls(k).require_certificate()
    network = _network("stage2", k)
    lb = _load_balancer("stage2", k, tls, network, "instance")
    hosts = AppHosts("app", AppHostsArgs(
        stage="stage2", host=host, count=k.int("appCount"),
        subnet_ids=network.public_subnet_ids, vpc_id=network.vpc_id,
        admin_cidrs=_admin_cidrs(config), ssh_port=k.int("sshPort"),
        app_port=k.int("appPort"), app_source_group_id=lb.security_group_id,
        target_group_arn=lb.target_group_arn))
    db, cache = _data_tier("stage2", k, retention, network, [hosts.security_group.id])
    return {**_edge_outputs(lb), "app_public_ips": hosts.public_ips,
            "app_private_ips": hosts.private_ips, "app_port": k.int("appPort"),
            "vpc_cidr": k.get("vpcCidr"), "ssh_user": SSH_USER, **_data_outputs(db, cache, k)}


def stage3(k: Knobs, config: pulumi.Config) -> dict:
    """ALB -> Fargate tasks of the shop's image -> the same data tier as stage 2."""
    _budget(k, "taskMaxCount")
    retention, tls = _retention("stage3", k), _tls(k).require_certificate()
    network = _network("stage3", k)
    lb = _load_balancer("stage3", k, tls, network, "ip")
    tasks_group = firewall.tier_group("shop-tasks-sg", stage="stage3", vpc_id=network.vpc_id,
                                      port=k.int("appPort"),
                                      source_group_ids=[lb.security_group_id],
                                      description="shop tasks")
    db, cache = _data_tier("stage3", k, retention, network, [tasks_group.id])
    # the ALB sends every path to the tasks: the app serves the storefront too
    environment = app_config({"settings": {"TRUSTED_PROXY_HOPS": STAGE3_PROXY_HOPS,
                                           "SERVE_STOREFRONT": True, **app_settings(k)}})
    environment["GUNICORN_CMD_ARGS"] = (f"--bind 0.0.0.0:{k.int('appPort')} "
                                        f"--workers {k.int('gunicornWorkers')} "
                                        f"--threads {k.int('gunicornThreads')}")
    service = ContainerService("shop", ContainerServiceArgs(
        stage="stage3", vpc_id=network.vpc_id, subnet_ids=network.public_subnet_ids,
        security_group_id=tasks_group.id, target_group_arn=lb.target_group_arn,
        request_count_label=lb.request_count_label, container_port=k.int("appPort"),
        cpu=k.int("taskCpu"), memory=k.int("taskMemory"), desired_count=k.int("taskCount"),
        min_count=k.int("taskMinCount"), max_count=k.int("taskMaxCount"),
        cpu_target=k.int("scaleCpuTarget"), requests_per_target=k.int("scaleRequestsPerTarget"),
        image_digest=k.get("imageDigest"), log_retention_days=k.int("logRetentionDays"),
        environment=environment,
        secrets=app_secrets("stage3", config, db.url, cache.url),
        migrator_secrets=migrator_secrets(db), retention=retention,
        health_check_path=k.get("healthCheckPath"),
        depends_on=[lb.https_listener],     # the listener that forwards to the target group
        # the reaper (k8s.app_env): one task of the shop's definition per interval
        scheduled=[ScheduledCommand("reaper", list(REAPER_COMMAND), REAPER_INTERVAL_MINUTES)]))
    if service.service is None:
        compute = {"next_step": f"push the shop's image to repository_url, then `pulumi config "
                                f"set imageDigest sha256:...` and `pulumi up` again "
                                f"(pulumi/README.md, \"Stage 3: the image\")"}
    else:
        compute = {"cluster_name": service.cluster.name, "service_name": service.service.name}
    return {**_edge_outputs(lb), "repository_url": service.repository_url, **compute,
            **_data_outputs(db, cache, k)}


def workload_values(k: Knobs) -> dict:
    """k8s.manifests values for stage 4: the stack's gunicorn and app settings, then the
    `workload` config's overrides (nested gunicorn/settings keys merged one by one)."""
    workload = k.get("workload")
    gunicorn = {"workers": k.int("gunicornWorkers"), "threads": k.int("gunicornThreads"),
                **workload.get("gunicorn", {})}
    settings = {**app_settings(k), **workload.get("settings", {})}
    # the pods reach the data tier only inside the stack's VPC, on the stack's ports
    egress = {"data_cidrs": [k.get("vpcCidr")],
              "data_ports": [k.int("dbPort"), k.int("cachePort")], **workload.get("egress", {})}
    return merge_values({**workload, "gunicorn": gunicorn, "settings": settings,
                         "egress": egress})


def stage4(k: Knobs, config: pulumi.Config) -> dict:
    """One k3s host (k3s and Istio installed by Ansible) with the shop's workload on it,
    and the same data tier as stages 2 and 3."""
    values = workload_values(k)
    check_pool_budget(k, "workload.max_replicas", values["max_replicas"],
                      values["gunicorn"]["workers"], int(app_config(values)["DB_POOL_MAX_SIZE"]))
    admin = _admin_cidrs(config)
    spec = _host(k, config, "k3sInstanceType", "k3sRootVolumeGb")
    retention = _retention("stage4", k)
    network = _network("stage4", k)
    host = K3sHost("k3s", K3sHostArgs(
        stage="stage4", host=spec, vpc_id=network.vpc_id,
        subnet_id=network.public_subnet_ids[0], admin_cidrs=admin,
        web_cidrs=k.list("webCidrs"), ssh_port=k.int("sshPort"), http_port=k.int("httpPort"),
        https_port=k.int("httpsPort"), api_port=k.int("k3sApiPort"), retention=retention))
    db, cache = _data_tier("stage4", k, retention, network, [host.security_group_id])
    outputs = {"k3s_public_ip": host.public_ip, "k3s_private_ip": host.private_ip,
               "ssh_user": SSH_USER, "namespace": values["namespace"],
               # the gateway answers HTTP only with a redirect to this
               "url": _tls(k).url(host.public_ip),
               **_data_outputs(db, cache, k)}
    if k.bool("deployWorkload"):
        # created after the host and destroyed before it (the kubeconfig does not say so)
        ShopWorkload("shop", ShopWorkloadArgs(
            values=values, kubeconfig=config.require_secret("kubeconfig"),
            secret_data={**app_secrets("stage4", config, db.url, cache.url),
                         **migrator_secrets(db)}),
            opts=pulumi.ResourceOptions(depends_on=[host]))
    return outputs


STAGES = {"stage1": stage1, "stage2": stage2, "stage3": stage3, "stage4": stage4}


def build(stage: str, k: Knobs, config: pulumi.Config) -> dict:
    if stage not in STAGES:
        raise ValueError(f"stage {stage!r}: expected one of {', '.join(STAGES)} "
                         "(set shoplab:stage or name the stack after the stage)")
    return STAGES[stage](k, config)
