"""Shoplab's AWS infrastructure as Pulumi components, one stage composition per stack.

This package lives in ``pulumi/`` next to ``__main__.py`` and is deliberately not named
``pulumi`` (that would shadow the SDK). Nothing is created at import time.
"""
