"""Test helpers for hostkit and for third-party provider plugins (the ``testing`` extra).

``pip install "hostkit-ml[testing]"`` brings pytest, vcrpy, pytest-recording and
respx. ``import hostkit`` never imports this package, and importing it does not
import vcrpy or pytest: they load when a cassette is first used.

Recorded HTTP fixtures (cassettes) are vcrpy YAML files named by operation and
scenario (``deploy.yaml``, ``invoke.yaml``, ``error_429_then_ok.yaml``). Replay
is strict by default: a request a cassette does not hold fails the test, and no
request reaches the network. Secrets are scrubbed before anything is written.

* In pytest, load :mod:`hostkit.testing.pytest_plugin` and mark tests with
  ``@pytest.mark.vcr`` (see that module for recording).
* Anywhere else, ``with cassette("cassettes/invoke.yaml") as recorded: ...``.
* ``cassette_requests(path)`` / ``load_cassette(path)`` read a cassette back, to
  assert on what a scenario sends.
* :mod:`hostkit.testing.plugins` installs a plugin distribution during a test
  run (``install_plugin``, ``write_distribution``, ``plugins_on_path``).
"""

from hostkit.testing._cassettes import (
    FAKE_ACCOUNT_ID,
    MATCH_ON,
    RECORD_MODES,
    REDACTED,
    SECRET_HEADERS,
    VOLATILE_HEADERS,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    cassette,
    cassette_requests,
    load_cassette,
    scrub_interaction,
    scrub_request,
    scrub_response,
    scrub_text,
    set_default_record_mode,
    vcr_config,
)
from hostkit.testing.plugins import install_plugin, plugins_on_path, write_distribution

__all__ = [
    "FAKE_ACCOUNT_ID",
    "MATCH_ON",
    "RECORD_MODES",
    "REDACTED",
    "SECRET_HEADERS",
    "VOLATILE_HEADERS",
    "Interaction",
    "RecordedRequest",
    "RecordedResponse",
    "cassette",
    "cassette_requests",
    "install_plugin",
    "load_cassette",
    "plugins_on_path",
    "scrub_interaction",
    "scrub_request",
    "scrub_response",
    "scrub_text",
    "set_default_record_mode",
    "vcr_config",
    "write_distribution",
]
