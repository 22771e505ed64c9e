"""Fixtures of the Pulumi tests; the machinery is in stack_harness.py."""
import pytest

from stack_harness import STAGES, StackRun, run_stack


@pytest.fixture(scope="session")
def stacks() -> dict[str, StackRun]:
    """Each stage's program run once with its stack file; tests only read the records."""
    return {stage: run_stack(stage) for stage in STAGES}
