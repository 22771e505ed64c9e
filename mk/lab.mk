# The local lab: `make lab` (STAGE=1 default, STAGE=2 load-balanced) builds the stage's hosts
# as systemd containers, deploys ansible/site.yml, seeds and smoke-tests the shop through
# nginx at http://127.0.0.1:808N, then runs the load test when mk/loadtest.mk provides it.
# `make lab-down STAGE=N` removes it. Docs: roles/README.md ("The lab").
STAGE ?= 1
export STAGE
# LAB_LOADTEST=0: stop after the smoke test
LAB_LOADTEST ?= 1

.PHONY: lab lab-down
lab: deps collections image preflight ## build, deploy, seed and smoke-test the lab of STAGE (1, 2 or 3) on 127.0.0.1:808N
	@tools/lab/up.sh
	@if [ "$(LAB_LOADTEST)" != 1 ]; then echo "(LAB_LOADTEST=$(LAB_LOADTEST): load test skipped)"; \
	  elif $(MAKE) -n lab-loadtest >/dev/null 2>&1; then $(MAKE) --no-print-directory lab-loadtest; \
	  else echo "(no lab-loadtest target yet: load test skipped)"; fi

lab-down: ## remove every container, volume and network of the lab of STAGE
	@tools/lab/down.sh
