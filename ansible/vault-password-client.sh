#!/bin/sh
# Ansible Vault password *client* script: Ansible runs `<this file> --vault-id <label>` for each
# `--vault-id <label>@<this file>` (ansible.cfg's vault_identity_list names it for `lab`) and
# reads the password from stdout. Contract (roles/README.md, "Secrets"):
#   lab   $SHOPLAB_VAULT_PASSWORD_LAB, else the documented lab default `shoplab-lab-only`. It
#         opens only lab-only values (ansible/vault/lab.yml, lab-stage4's vault.yml).
#   aws   $SHOPLAB_VAULT_PASSWORD. Refused (exit 1, reason on stderr, nothing on stdout) when
#         it is unset, empty, or equal to the lab password (the default or the _LAB override):
#         an AWS vault can never be created or opened with the published password.
#   other labels, or no --vault-id: exit 2, Ansible's "no secret for this vault id".
set -eu

LAB_DEFAULT=shoplab-lab-only
lab_password=${SHOPLAB_VAULT_PASSWORD_LAB:-$LAB_DEFAULT}

label=
while [ $# -gt 0 ]; do
  case $1 in
    --vault-id) [ $# -ge 2 ] || { echo "$0: --vault-id needs a label" >&2; exit 2; }
                label=$2; shift 2 ;;
    --vault-id=*) label=${1#--vault-id=}; shift ;;
    *) echo "$0: unexpected argument '$1' (usage: $0 --vault-id lab|aws)" >&2; exit 2 ;;
  esac
done

case $label in
  lab)
    printf '%s\n' "$lab_password" ;;
  aws)
    aws_password=${SHOPLAB_VAULT_PASSWORD:-}
    if [ -z "$aws_password" ]; then
      echo "$0: vault id 'aws': SHOPLAB_VAULT_PASSWORD is not set. Export the AWS vault's password" \
           "(from your password manager); the lab default is never used for AWS." >&2
      exit 1
    fi
    if [ "$aws_password" = "$LAB_DEFAULT" ] || [ "$aws_password" = "$lab_password" ]; then
      echo "$0: vault id 'aws': SHOPLAB_VAULT_PASSWORD is the lab's password; AWS vaults need" \
           "a real one." >&2
      exit 1
    fi
    printf '%s\n' "$aws_password" ;;
  *)
    echo "$0: no password for vault id '$label' (known: lab, aws)" >&2
    exit 2 ;;
esac
