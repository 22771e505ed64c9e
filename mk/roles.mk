# Ansible roles: collections, the systemd image, lint (the whole repository), the playbook tests
# (ansible/tests) and every molecule scenario. Docs: roles/README.md. Offline recipe:
# shared/reference/molecule-offline.md.
ANSIBLE_BUNDLE := ansible==12.3.0
COLLECTIONS := containers/podman community/general ansible/posix community/postgresql community/crypto
COLLECTIONS_DIR := $(CURDIR)/.state/collections
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS_DIR)
export ANSIBLE_FORCE_COLOR := 0
export PY_COLORS := 0
MOLECULE_PARALLEL ?= 2
# the stage-2 topology first (the longest), then every role's default scenario (roles/k3s and
# roles/istio included: a role with molecule/default is picked up by existing)
MOLECULE_SCENARIOS ?= ansible:stage2 $(sort $(patsubst %/molecule/default/molecule.yml,%,$(wildcard roles/*/molecule/default/molecule.yml)))

.PHONY: collections image lint-roles test-playbooks test-roles
collections: $(COLLECTIONS_DIR)/.unpacked ## unpack the Ansible collections from the ansible wheel (no Galaxy)
$(COLLECTIONS_DIR)/.unpacked: mk/roles.mk
	@mkdir -p .state/dl $(COLLECTIONS_DIR)
	@ls .state/dl/ansible-12.3.0-*.whl >/dev/null 2>&1 || pip download -q --no-deps -d .state/dl $(ANSIBLE_BUNDLE)
	@cd $(COLLECTIONS_DIR) && unzip -q -o $(CURDIR)/.state/dl/ansible-12.3.0-*.whl \
	  $(foreach c,$(COLLECTIONS),'ansible_collections/$(c)/*')
	@touch $@
	@echo "collections in $(COLLECTIONS_DIR): $(COLLECTIONS)"

image: ## build the systemd Debian image for molecule and the lab (skipped if present)
	@tools/build-image.sh

# Both over the whole repository (inventories included); what they skip is in .yamllint and
# .ansible-lint (exclude_paths).
lint-roles: collections ## yamllint + ansible-lint (production profile) over the whole repository
	yamllint -s .
	ansible-lint -q

test-playbooks: collections ## ansible/tests: pool budget, vault ids, inventories on recorded Pulumi outputs, playbook checks
	pytest -q -p no:cacheprovider ansible/tests

test-roles: collections image lint-roles test-playbooks ## lint, playbook tests, every molecule scenario
	@tools/lab/molecule-all.sh $(MOLECULE_PARALLEL) $(MOLECULE_SCENARIOS)

TEST_TARGETS += test-roles
