"""Stage 3: ECR, ECS Fargate service behind the ALB, secrets from Secrets Manager,
autoscaling on CPU and requests, logs in CloudWatch, the reaper on an EventBridge schedule;
the same data tier as stage 2."""
import json

import pytest

from app.settings import Settings
from stack_harness import IMAGE_DIGEST, run_stack
from k8s.app_env import MIGRATE_COMMAND, MIGRATOR_SECRETS, REAPER_COMMAND, SECRET_SETTINGS
from mock_records import is_secret
from shoplab_infra.container_service import rate_expression

REPOSITORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-repo"


def _containers(run):
    [task] = run.mocks.of_type("aws:ecs/taskDefinition:TaskDefinition")
    return task, {c["name"]: c for c in json.loads(task.inputs["containerDefinitions"])}


def _container(run):
    task, containers = _containers(run)
    return task, containers["shop"]


def test_resource_counts(stacks):
    m = stacks["stage3"].mocks
    expected = {"aws:ecr/repository:Repository": 1, "aws:ecs/cluster:Cluster": 1,
                "aws:ecs/taskDefinition:TaskDefinition": 1, "aws:ecs/service:Service": 1,
                "aws:lb/listenerRule:ListenerRule": 1,
                "aws:appautoscaling/target:Target": 1, "aws:appautoscaling/policy:Policy": 2,
                "aws:secretsmanager/secret:Secret": 1,
                "aws:secretsmanager/secretVersion:SecretVersion": 1,
                "aws:cloudwatch/logGroup:LogGroup": 1, "aws:lb/loadBalancer:LoadBalancer": 1,
                "aws:cloudwatch/eventRule:EventRule": 1,
                "aws:cloudwatch/eventTarget:EventTarget": 1,
                "aws:iam/role:Role": 3, "aws:iam/rolePolicy:RolePolicy": 2,
                "aws:rds/instance:Instance": 1,
                "aws:elasticache/replicationGroup:ReplicationGroup": 1,
                "aws:ec2/instance:Instance": 0}
    assert {t: len(m.of_type(t)) for t in expected} == expected


def test_same_network_and_data_components_as_stage2(stacks):
    components = {stage: sorted(r.typ for r in stacks[stage].mocks.resources
                                if not r.custom and r.typ.split(":")[-1] in
                                ("Network", "Database", "Cache"))
                  for stage in ("stage2", "stage3", "stage4")}
    assert components["stage2"] == components["stage3"] == components["stage4"] == \
        ["shoplab:aws:Cache", "shoplab:aws:Database", "shoplab:aws:Network"]


def test_fargate_task_size_and_logs(stacks):
    task, container = _container(stacks["stage3"])
    assert (task.inputs["cpu"], task.inputs["memory"]) == ("512", "1024")
    assert task.inputs["requiresCompatibilities"] == ["FARGATE"]
    assert task.inputs["networkMode"] == "awsvpc"
    logs = container["logConfiguration"]
    assert logs["logDriver"] == "awslogs"
    assert logs["options"]["awslogs-group"] == "/shoplab/stage3/shop"
    [group] = stacks["stage3"].mocks.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["name"] == "/shoplab/stage3/shop" and group.inputs["retentionInDays"] == 14


def test_environment_is_the_apps_settings_and_secrets_come_from_secrets_manager(stacks):
    _, container = _container(stacks["stage3"])
    env = {e["name"]: e["value"] for e in container["environment"]}
    known = {name for name, _, _ in Settings.describe()}
    assert set(env) - known == {"GUNICORN_CMD_ARGS"}
    assert set(env) | set(SECRET_SETTINGS) == known | {"GUNICORN_CMD_ARGS"}
    assert env["DB_POOL_MAX_SIZE"] == "5"                   # from Pulumi.stage3.yaml
    assert env["TRUSTED_PROXY_HOPS"] == "1"                 # the ALB (the app's default is 0)
    assert env["SERVE_STOREFRONT"] == "true"                # no nginx: the app serves it
    assert env["GUNICORN_CMD_ARGS"] == "--bind 0.0.0.0:8000 --workers 2 --threads 4"
    secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    assert sorted(secrets) == sorted(SECRET_SETTINGS)
    assert all(v == f"arn:aws:mock:us-east-1:123456789012:shop-settings:{k}::"
               for k, v in secrets.items())
    [version] = stacks["stage3"].mocks.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert is_secret(version.inputs["secretString"])
    # the app's secrets and the migrator's own (the master user's URL)
    assert sorted(json.loads(version.inputs["secretString"]["value"])) == \
        sorted(SECRET_SETTINGS + MIGRATOR_SECRETS)


def test_execution_role_reads_only_its_secret(stacks):
    [policy] = [p for p in stacks["stage3"].mocks.of_type("aws:iam/rolePolicy:RolePolicy")
                if p.name == "shop-read-settings"]
    assert policy.inputs["role"] == "shop-execution-id"
    [statement] = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Action"] == ["secretsmanager:GetSecretValue"]
    assert statement["Resource"] == ["arn:aws:mock:us-east-1:123456789012:shop-settings"]


def test_service_behind_the_alb_with_two_tasks(stacks):
    m = stacks["stage3"].mocks
    [service] = m.of_type("aws:ecs/service:Service")
    assert service.inputs["desiredCount"] == 2 and service.inputs["launchType"] == "FARGATE"
    [lb] = service.inputs["loadBalancers"]
    assert (lb["targetGroupArn"], lb["containerName"], lb["containerPort"]) == \
        ("arn:aws:mock:us-east-1:123456789012:web-tg", "shop", 8000)
    assert service.inputs["networkConfiguration"]["securityGroups"] == ["shop-tasks-sg-id"]
    assert service.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    # `up` returns once the tasks are running and healthy, or fails with the rollback
    assert service.inputs["waitForSteadyState"] is True
    [tg] = m.of_type("aws:lb/targetGroup:TargetGroup")
    assert tg.inputs["targetType"] == "ip"
    assert tg.inputs["healthCheck"]["path"] == "/healthz"


def test_tasks_run_the_pushed_image_by_digest_and_migrate_before_serving(stacks):
    task, containers = _containers(stacks["stage3"])
    assert list(containers) == ["migrate", "shop"]
    migrate, shop = containers["migrate"], containers["shop"]
    assert shop["image"] == migrate["image"] == f"{REPOSITORY}@{IMAGE_DIGEST}"
    assert migrate["command"] == list(MIGRATE_COMMAND) and migrate["essential"] is False
    # the shop starts only after the migrations exited 0; a failed migration fails the task
    assert shop["dependsOn"] == [{"containerName": "migrate", "condition": "SUCCESS"}]
    assert shop["essential"] is True and "command" not in shop
    for key in ("environment", "user"):
        assert migrate[key] == shop[key], key
    # the migrations run as the schema's owner; the shop never holds the owner's URL
    names = {c: {s["name"] for s in containers[c]["secrets"]} for c in containers}
    assert names == {"shop": set(SECRET_SETTINGS),
                     "migrate": set(SECRET_SETTINGS) | set(MIGRATOR_SECRETS)}
    assert migrate["logConfiguration"]["options"]["awslogs-stream-prefix"] == "migrate"
    assert "portMappings" not in migrate and "healthCheck" not in migrate


def test_containers_run_on_a_read_only_root_with_tmp_the_one_writable_place(stacks):
    """As tests/container runs the image (--read-only, /tmp on tmpfs) and the stage-4 pods."""
    task, containers = _containers(stacks["stage3"])
    [volume] = task.inputs["volumes"]
    assert "efsVolumeConfiguration" not in volume and "dockerVolumeConfiguration" not in volume
    for name, container in containers.items():
        assert container["readonlyRootFilesystem"] is True, name
        assert container["mountPoints"] == [{"sourceVolume": volume["name"],
                                             "containerPath": "/tmp", "readOnly": False}], name
        assert container["user"] == "10001", name


def test_first_up_creates_the_repository_and_no_service():
    run = run_stack("stage3", {"shoplab:imageDigest": ""})
    m = run.mocks
    assert len(m.of_type("aws:ecr/repository:Repository")) == 1
    for typ in ("aws:ecs/service:Service", "aws:ecs/taskDefinition:TaskDefinition",
                "aws:ecs/cluster:Cluster", "aws:cloudwatch/eventRule:EventRule"):
        assert m.of_type(typ) == [], typ
    assert run.outputs["repository_url"] == REPOSITORY
    assert "imageDigest" in run.outputs["next_step"] and "service_name" not in run.outputs
    # the rest of the stage is there already: the ALB and the data tier
    assert len(m.of_type("aws:lb/loadBalancer:LoadBalancer")) == 1
    assert len(m.of_type("aws:rds/instance:Instance")) == 1


def test_image_must_be_named_by_digest():
    for bad in ("0.1.0", "latest", "sha256:abc", f"{REPOSITORY}@{IMAGE_DIGEST}"):
        with pytest.raises(ValueError, match="imageDigest .*sha256:<64 hex digits>"):
            run_stack("stage3", {"shoplab:imageDigest": bad})
    with pytest.raises(ValueError, match="shoplab:imageTag no longer exists"):
        run_stack("stage3", {"shoplab:imageTag": "0.1.0"})


def test_autoscaling_on_cpu_and_request_count(stacks):
    m = stacks["stage3"].mocks
    [target] = m.of_type("aws:appautoscaling/target:Target")
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (2, 6)
    assert target.inputs["resourceId"] == "service/shop-cluster/shop-service"
    specs = {p.inputs["targetTrackingScalingPolicyConfiguration"]
             ["predefinedMetricSpecification"]["predefinedMetricType"]:
             p.inputs["targetTrackingScalingPolicyConfiguration"] for p in
             m.of_type("aws:appautoscaling/policy:Policy")}
    assert specs["ECSServiceAverageCPUUtilization"]["targetValue"] == 60
    requests = specs["ALBRequestCountPerTarget"]
    assert requests["targetValue"] == 1000
    assert requests["predefinedMetricSpecification"]["resourceLabel"] == \
        "app/web-alb/50dc6c495c0c9188/targetgroup/web-tg/73e2d6bc24d8a067"


def test_data_tier_admits_only_the_tasks(stacks):
    m = stacks["stage3"].mocks
    for name in ("db-sg", "cache-sg"):
        [sg] = [r for r in m.of_type("aws:ec2/securityGroup:SecurityGroup") if r.name == name]
        assert [r["securityGroups"] for r in sg.inputs["ingress"]] == [["shop-tasks-sg-id"]]
    [tasks] = [r for r in m.of_type("aws:ec2/securityGroup:SecurityGroup")
               if r.name == "shop-tasks-sg"]
    assert [(r["fromPort"], r["securityGroups"]) for r in tasks.inputs["ingress"]] == \
        [(8000, ["web-sg-id"])]


def test_task_size_and_counts_follow_config():
    run = run_stack("stage3", {"shoplab:taskCpu": 1024, "shoplab:taskMemory": 2048,
                               "shoplab:taskCount": 3, "shoplab:taskMaxCount": 4,
                               "shoplab:appSettings": {"LOG_LEVEL": "WARNING",
                                                       "TRUSTED_PROXY_HOPS": 2}})
    task, container = _container(run)
    assert (task.inputs["cpu"], task.inputs["memory"]) == ("1024", "2048")
    [service] = run.mocks.of_type("aws:ecs/service:Service")
    assert service.inputs["desiredCount"] == 3
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["LOG_LEVEL"] == "WARNING"
    assert env["TRUSTED_PROXY_HOPS"] == "2"                 # e.g. a CDN in front of the ALB


def test_bad_counts_and_secret_settings_are_refused():
    with pytest.raises(ValueError, match="taskMinCount <= taskCount <= taskMaxCount"):
        run_stack("stage3", {"shoplab:taskCount": 7})
    with pytest.raises(ValueError, match="JWT_SECRET: a secret"):
        run_stack("stage3", {"shoplab:appSettings": {"JWT_SECRET": "plain"}})


# --- the reaper on an EventBridge schedule -------------------------------------------------

def _reaper(run):
    [rule] = run.mocks.of_type("aws:cloudwatch/eventRule:EventRule")
    [target] = run.mocks.of_type("aws:cloudwatch/eventTarget:EventTarget")
    [role] = [r for r in run.mocks.of_type("aws:iam/role:Role") if r.name == "shop-schedule"]
    [policy] = [p for p in run.mocks.of_type("aws:iam/rolePolicy:RolePolicy")
                if p.name == "shop-schedule-run-task"]
    return rule, target, role, policy


def test_reaper_rule_fires_every_minute(stacks):
    rule, target, _, _ = _reaper(stacks["stage3"])
    assert rule.inputs["scheduleExpression"] == "rate(1 minute)"
    assert "eventPattern" not in rule.inputs
    assert target.inputs["rule"] == rule.name
    assert (rate_expression(1), rate_expression(5)) == ("rate(1 minute)", "rate(5 minutes)")
    with pytest.raises(ValueError, match="at least 1 minute"):
        rate_expression(0)


def test_reaper_target_runs_the_shops_task_with_the_reaper_command(stacks):
    run = stacks["stage3"]
    _, target, role, _ = _reaper(run)
    task, container = _container(run)
    [service] = run.mocks.of_type("aws:ecs/service:Service")
    assert target.inputs["arn"] == "arn:aws:mock:us-east-1:123456789012:shop-cluster"
    assert target.inputs["roleArn"] == f"arn:aws:mock:us-east-1:123456789012:{role.name}"
    ecs = target.inputs["ecsTarget"]
    assert ecs["taskDefinitionArn"] == \
        "arn:aws:ecs:us-east-1:123456789012:task-definition/shoplab-stage3-shop:1"
    assert task.inputs["family"] == "shoplab-stage3-shop"
    assert (ecs["launchType"], ecs["taskCount"]) == ("FARGATE", 1)
    # where the service's tasks run: the subnets with a way out, the group the data tier admits
    assert ecs["networkConfiguration"] == service.inputs["networkConfiguration"]
    assert ecs["networkConfiguration"]["securityGroups"] == ["shop-tasks-sg-id"]
    assert ecs["networkConfiguration"]["assignPublicIp"] is True
    # only the command changes; the image, environment and secrets are the task definition's
    overrides = json.loads(target.inputs["input"])
    assert overrides == {"containerOverrides": [{"name": container["name"],
                                                 "command": ["python", "-m", "app.reaper"]}]}
    assert overrides["containerOverrides"][0]["command"] == list(REAPER_COMMAND)
    assert target.inputs["retryPolicy"]["maximumEventAgeInSeconds"] == 60


def test_reaper_role_is_assumed_by_eventbridge_and_may_only_run_this_task(stacks):
    run = stacks["stage3"]
    _, _, role, policy = _reaper(run)
    task, _ = _container(run)
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert (trust["Effect"], trust["Action"]) == ("Allow", "sts:AssumeRole")
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert policy.inputs["role"] == "shop-schedule-id"
    run_task, pass_role = json.loads(policy.inputs["policy"])["Statement"]
    assert run_task["Action"] == ["ecs:RunTask"]
    # every revision of the family (a new image is a new revision), on this cluster only
    assert run_task["Resource"] == \
        ["arn:aws:ecs:us-east-1:123456789012:task-definition/shoplab-stage3-shop:*"]
    assert run_task["Condition"] == {
        "ArnEquals": {"ecs:cluster": "arn:aws:mock:us-east-1:123456789012:shop-cluster"}}
    assert pass_role["Action"] == ["iam:PassRole"]
    assert sorted(pass_role["Resource"]) == sorted([task.inputs["executionRoleArn"],
                                                    task.inputs["taskRoleArn"]])
    assert pass_role["Condition"] == {
        "StringLike": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
