# Stage 4 on Kubernetes: the shop's objects (k8s/), their schema checks (tests/k8s) and the
# k3s and istio roles' molecule scenarios. Docs: k8s/README.md, roles/k3s/README.md,
# roles/istio/README.md. `collections` and `image` come from mk/roles.mk.
K8S_NODE_DIR := tests/k8s
K8S_MOLECULE := roles/k3s roles/istio

.PHONY: render-k8s test-k8s-schemas test-k8s-static test-k8s

# Istio's CRD schemas (@kubernetes-models/istio), pinned by the lock file; node_modules is
# gitignored. npm ci only when the lock changed.
$(K8S_NODE_DIR)/node_modules/.package-lock.json: $(K8S_NODE_DIR)/package-lock.json
	@cd $(K8S_NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

render-k8s: ## print the shop's stage-4 objects as YAML (VALUES=file.yml for overrides)
	@$(PY) -m k8s.render $(if $(VALUES),--values $(VALUES))

test-k8s-schemas: $(K8S_NODE_DIR)/node_modules/.package-lock.json ## validate the shop's k8s/Istio objects (no cluster needed)
	pytest -q -p no:cacheprovider tests/k8s

test-k8s-static: collections test-k8s-schemas ## schemas, stage-4 play syntax and lint (no containers)
	ansible-playbook -i ansible/inventories/lab-stage4 --syntax-check ansible/stage4.yml
	ansible-lint -q roles/k3s roles/istio ansible/stage4.yml

test-k8s: test-k8s-static image ## the above plus the k3s + istio molecule scenarios
	@tools/lab/molecule-all.sh 2 $(K8S_MOLECULE)

# `make test` runs the k3s and istio scenarios once, with every other role's, in test-roles.
TEST_TARGETS += test-k8s-static
