#!/bin/sh
# Vault password for `ansible-vault` / `ansible-playbook` (ansible.cfg vault_password_file).
# The lab's group_vars are encrypted with the documented lab default below: it protects
# nothing but lab-only values and keeps real secrets' tooling identical. Any other target
# (the AWS stages) must export SHOPLAB_VAULT_PASSWORD; its vault files use a real password.
printf '%s\n' "${SHOPLAB_VAULT_PASSWORD:-shoplab-lab-only}"
