"""Fixtures of ansible/tests; the helpers are in ansible_test_support.py."""
from ansible_test_support import aws_inventories, session_tmp, test_vault  # noqa: F401
