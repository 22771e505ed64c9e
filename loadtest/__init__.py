"""Load tests, breaking-point search, stage reports, experiments and the pool advisor.

See loadtest/README.md. Nothing in this package is imported by the shop itself.
"""
