# Load tests, breaking-point search, stage reports, experiments, bench and the pool advisor.
# Docs: loadtest/README.md. Results: loadtest/results/<stage>-<UTC time>/.
TARGET ?= http://127.0.0.1:8080
# the report's stage name: STAGE when given (command line or environment), else "run" (lab.mk's
# default STAGE=1 must not label a `make run` measurement as stage 1)
LOADTEST_STAGE ?= $(if $(filter command line environment,$(origin STAGE)),$(STAGE),run)
# where the hosts' CPU comes from: `make run` processes, the lab's containers, or nothing
LOADTEST_HOSTS ?= $(if $(filter http://127.0.0.1:8080,$(TARGET)),local,none)
LOADTEST_ARGS ?=
LAB_CONTAINER_PREFIX ?= shoplab-s$(STAGE)-
# seconds `make lab` took to deploy the stage: given, or left by tools/lab/up.sh in this file
LAB_DEPLOY_SECONDS ?= $(shell cat .state/lab/stage$(STAGE)/deploy-seconds 2>/dev/null)
EXPERIMENTS ?= all
POOL_ARGS ?= --rds-class db.t3.micro --hosts 2 --workers 2 --threads 4

# the capacity lab (loadtest/capacity.py): CONFIG 1 | 2 | 2-one-app-host | 3, or several
# comma-separated (interleaved in each round: CONFIG=2,2-one-app-host measures scaling)
CONFIG ?= $(STAGE)
PROFILE ?= reference
ROUNDS ?= 3
ARMS ?= shoplab,reference_shaped
CREDITS ?= burst
CAPACITY_ARGS ?=
# `make experiments`: pairs of arms of the reference's shape (capacity/arms.py EXPERIMENTS) on
# stage 2, where the reference ran two instances against one database
EXPERIMENT_CONFIG ?= 2
EXPERIMENT_ARMS ?= pgbouncer,health_checks

.PHONY: loadtest lab-loadtest lab-report capacity capacity-all bench experiments experiments-loopback report pool-advisor test-loadtest
loadtest: ## load-test a deployed stage: make loadtest TARGET=http://host [STAGE=2] [LOADTEST_ARGS=--quick]
	$(PY) -m loadtest.run --target $(TARGET) --stage $(LOADTEST_STAGE) --hosts $(LOADTEST_HOSTS) $(LOADTEST_ARGS)

lab-loadtest: ## the end of `make lab`: one capacity round of each arm on lab stage STAGE (1-3)
	@test -n "$(filter 1 2 3,$(STAGE))" || { echo "lab-loadtest needs STAGE=1..3"; exit 2; }
	$(MAKE) --no-print-directory capacity CONFIG=$(STAGE) ROUNDS=1

lab-report: ## the full stage report of a running lab (ramp, no-think, journey, search: loadtest/run.py)
	$(PY) -m loadtest.run --target $$($(PY) -c 'from edge import lab; print(lab.url("$(STAGE)"))') \
	  --cafile .state/lab-ca/ca.crt --stage $(STAGE) --hosts podman \
	  --podman-prefix $(LAB_CONTAINER_PREFIX) \
	  $(if $(LAB_DEPLOY_SECONDS),--deploy-seconds $(LAB_DEPLOY_SECONDS)) $(LOADTEST_ARGS)

capacity: deps collections image ## capacity rounds of one lab config, arms interleaved: make capacity CONFIG=2 [PROFILE=stack ROUNDS=3 ARMS=shoplab]
	$(PY) -m loadtest.capacity run --config $(CONFIG) --profile $(PROFILE) --rounds $(ROUNDS) \
	  --arms $(ARMS) --credits $(CREDITS) $(CAPACITY_ARGS)
	$(PY) -m loadtest.capacity_report

capacity-all: ## the whole matrix (hours; resumable: each round is kept as it finishes)
	for c in 1 2 2-one-app-host 3; do $(MAKE) --no-print-directory capacity CONFIG=$$c || exit 1; done

bench: ## listing vs trivial route and 100k vs 50 products, caches off and on, on two stacks it starts
	$(PY) -m loadtest.bench $(BENCH_ARGS)

experiments: deps collections image ## the reference's tuning claims on the sized lab: pgbouncer modes, health-check interval (capacity/arms.py)
	$(PY) -m loadtest.capacity run --config $(EXPERIMENT_CONFIG) --profile reference \
	  --rounds $(ROUNDS) --arms $(EXPERIMENT_ARMS) $(CAPACITY_ARGS)
	$(PY) -m loadtest.capacity_report

experiments-loopback: ## on loopback stacks: indexes, pool-size sweep, gunicorn shapes, pgbouncer, probes (EXPERIMENTS=all|indexes,...)
	$(PY) -m loadtest.experiments $(EXPERIMENTS) $(EXPERIMENTS_ARGS)

report: ## regenerate loadtest/results/README.md and capacity.json from the committed raw files
	$(PY) -m loadtest.compare
	$(PY) -m loadtest.capacity_report

pool-advisor: ## safe DB_POOL_MAX_SIZE and pgbouncer settings (POOL_ARGS="--max-connections 100 --hosts 1 --workers 2")
	$(PY) -m loadtest.pool_advisor $(POOL_ARGS)

test-loadtest: collections ## unit tests of the load-test logic (no load is generated; the lab CA is made by ansible/lab-ca.yml)
	pytest -q -p no:cacheprovider tests/loadtest tests/capacity

TEST_TARGETS += test-loadtest
