"""Fixtures shared by integration test modules of more than one folder."""

from tests.integration.cluster import cluster  # noqa: F401  (two server nodes: tests/integration/cluster.py)
