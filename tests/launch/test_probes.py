"""Every probe of issue 23 (tests/launch/probes.py) as a real command: a bad input ends in one line on stderr
naming the fault, exit status 2, no traceback and nothing written; a standalone stage command never leaves a
result the pipeline then reuses. Minutes on 2 cores (each command imports the suite; three need a finished
run), so they run under the `probes` marker: `make test-probes` (and .ci/run), not `make test`."""

import pytest

from tests.launch.probes import PROBES, Workspace, run_probe
from tide.core.runtime import PROJECT_ROOT

pytestmark = [pytest.mark.probes, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return Workspace(tmp_path_factory.mktemp("probes"), PROJECT_ROOT)


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.name)
def test_probe(probe, workspace):
    outcome = run_probe(probe, workspace)
    if outcome.verdict == "skipped":
        pytest.skip(f"{probe.name}: {outcome.detail}")
    expected = "one-line error" if probe.kind == "input" else "ok"
    assert outcome.verdict == expected, f"{probe.name}: {outcome.verdict}: {outcome.detail} (logs: {workspace.folder})"
