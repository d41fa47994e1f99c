"""The kit catches faults: each suite run against the hostile connector fails, saying why.

Runs the suites in a child pytest session (``pytester``) so a failing contract test is the
expected outcome here, not a failure of this suite.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]

CONTRACT = """
from bridge.testing import ConnectorContract
from tests.kit.hostile import HOSTILE_MAPPING, TOKEN, HostileConnector, HostileRemote


class TestHostileContract(ConnectorContract):
    connector_class = HostileConnector
    config = {"api_token": TOKEN}
    mapping_file = HOSTILE_MAPPING
    skip_suites = {
        "check": "the hostile connector has no HTTP remote",
        "errors": "the hostile connector has no HTTP remote",
    }

    def remote(self):
        return HostileRemote()

    def make_connector(self, harness):
        conn = super().make_connector(harness)
        conn.remote = harness
        return conn
"""


def run_suite(pytester: pytest.Pytester, selector: str, source: str = CONTRACT) -> str:
    pytester.syspathinsert(ROOT)
    pytester.makepyfile(test_hostile_contract=source)
    result = pytester.runpytest("-k", selector, "-p", "no:cacheprovider", "-p", "no:randomly")
    return str(result.stdout) + f"\n[ret={result.ret}]"


@pytest.mark.parametrize(
    ("selector", "failing", "message"),
    [
        ("test_read_", "test_read_reaches_the_end_with_unique_keys", "pagination loop"),
        ("test_write_replay", "test_write_replay_changes_nothing", "is not idempotent"),
        ("test_write_splits", "test_write_splits_batches_at_the_limit", "above batch_limits"),
        ("test_webhooks_missing", "test_webhooks_missing", "nothing was raised"),
        ("test_webhooks_forged", "test_webhooks_forged", "forged signature"),
        ("test_webhooks_replayed", "test_webhooks_replayed", "replayed delivery gave other"),
        ("test_info_decode", "test_info_decode", "float money is impossible"),
        ("test_info_secret_fields", "test_info_secret_fields", "api_token"),
        ("test_info_repr", "test_info_repr", "secret value is printed by repr(config)"),
        ("test_logs_", "test_logs_never_show_secrets", "secret value was written to log records"),
        (
            "test_samples_decode",
            "test_samples_decode_through_the_inbound_rules_and_round_trip",
            "product sku: 'X-A' went out as code='X-A' and came back as 'X-X-A'",
        ),
    ],
)
def test_kit_catches_the_fault(
    pytester: pytest.Pytester, selector: str, failing: str, message: str
) -> None:
    output = run_suite(pytester, selector)
    assert f"FAILED test_hostile_contract.py::TestHostileContract::{failing}" in output, output
    assert message in output, output
    assert "passed" not in output.splitlines()[-2] or "failed" in output.splitlines()[-2]


@pytest.mark.parametrize(
    ("skips", "message"),
    [
        ('{"read": ""}', "needs a written reason"),
        ('{"read"}', "must map suite name -> written reason"),
        ('{"reed": "typo in the suite name"}', "unknown suite 'reed'"),
    ],
)
def test_a_skip_needs_a_reason(pytester: pytest.Pytester, skips: str, message: str) -> None:
    source = CONTRACT.replace(
        '"api_token": TOKEN}', '"api_token": TOKEN}\n    skip_suites = ' + skips
    )
    source = source.replace(
        '    skip_suites = {\n        "check"', '    _unused = {\n        "check"'
    )
    output = run_suite(pytester, "test_info", source)
    assert "ERROR collecting" in output or "error" in output.lower(), output
    assert message in output, output
    assert "[ret=2]" in output, output
