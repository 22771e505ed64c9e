# Shoplab: the two set-up commands are `make lab` (the main job) and `make test`.
# Each area of the repo adds its own targets in mk/<area>.mk and appends its test target to
# TEST_TARGETS, so `make test` runs them all, in the order the files are included, after the
# preflight, and reports every failure at the end (tools/run-targets.sh).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
export PATH := $(VENV)/bin:$(PATH)
export PYTHONPATH := $(CURDIR)
export PYTHONDONTWRITEBYTECODE := 1
TEST_TARGETS := preflight

.PHONY: help deps preflight test
help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

deps: ## install the Debian packages and the pinned virtualenv (idempotent)
	tools/install-deps.sh

preflight: image ## check in seconds that this machine can run the container suites and the lab
	@tools/preflight.sh

include $(sort $(wildcard mk/*.mk))

test: deps ## run every test suite (what CI runs)
	@MAKE=$(MAKE) tools/run-targets.sh $(TEST_TARGETS)
