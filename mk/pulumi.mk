# Pulumi stacks (one per stage), their policy pack and cost model, all tested offline with
# mocks: no Pulumi CLI, provider plugin or AWS account is needed. Docs: pulumi/README.md.
PULUMI_PYTHONPATH := $(CURDIR):$(CURDIR)/pulumi
PULUMI_MODULES := pulumi_aws,pulumi_kubernetes,pulumi_random,pulumi_policy,kubernetes_validate

.PHONY: test-pulumi cost-table
test-pulumi: ## Pulumi programs of all stages (mocks), policy pack and cost model tests
	@$(PY) -c 'import $(PULUMI_MODULES)' 2>/dev/null || tools/install-deps.sh
	PYTHONPATH=$(PULUMI_PYTHONPATH) $(PY) -m pytest -q -p no:cacheprovider -p no:warnings tests/pulumi

cost-table: ## monthly cost and cost per request of each stage (pulumi/shoplab_infra/cost_model.py)
	@PYTHONPATH=$(PULUMI_PYTHONPATH) $(PY) -m shoplab_infra.cost_model --lines

TEST_TARGETS += test-pulumi
