"""The compliance kit's own sensitivity: each planted bug must make the kit fail.

tests/mutations/*.patch are 23 realistic single bugs (swapped token counts, a
made-up price, a request at construction, a raw httpx error from ainvoke, a lost
platform message or failure reason, wrong error classes, missing retries, leaked
secrets, a teardown that is not idempotent ...), each planted in a copy of one of
the example plugins (tests/plugins/). Every copy is registered under a name of its
own (``example-m01`` ...) next to the two unmodified plugins, and the kit runs over
all of them in one pytest session, in process: a mutant's expected check runs first
and the rest of its checks are skipped once one fails, so the whole run stays short.

The unmodified plugins must pass every check (a kit that fails everything catches
everything). ``HOSTKIT_KIT_MODULE`` runs another version of the kit (to measure an
older one: put its file on ``sys.path`` and name its module).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

# Imported here, before the pytester fixture snapshots sys.modules: modules first
# imported during the inner run are forgotten afterwards, and a re-imported yaml no
# longer matches its C extension (every later cassette load would fail).
import vcr.serializers.yamlserializer
import vcr.stubs.httpx_stubs  # noqa: F401
import yaml  # noqa: F401

import hostkit.testing.compliance  # noqa: F401

HERE = Path(__file__).parent
MUTATIONS = HERE / "mutations"
PLUGINS = HERE / "plugins"
#: package -> (its source folder, its provider name line, its fixtures class in KIT_RUN)
PACKAGES = {
    "hostkit_example_plugin": (
        PLUGINS / "hostkit-example-plugin" / "src",
        '    name = "example"\n',
        "ExampleFixtures",
    ),
    "hostkit_example_dedicated": (
        PLUGINS / "hostkit-example-dedicated" / "src",
        '    name = "example-dedicated"\n',
        "DedicatedFixtures",
    ),
}
#: the dedicated example's provider name, as its cassettes were recorded
PACKAGE_NAMES = ("example-dedicated",)
DEDICATED_SPEC = {"model": "example-org/chat-8b", "instance": "gpu-1x-l4"}
DEDICATED_FAILING = {"model": "example-org/chat-70b", "instance": "gpu-1x-l4"}
HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@")

KIT_RUN = """
import importlib
import os
from pathlib import Path

import pytest

from hostkit.testing.plugins import plugins_on_path

kit = importlib.import_module(os.environ.get("HOSTKIT_KIT_MODULE", "hostkit.testing.compliance"))
SITE = Path(os.environ["HOSTKIT_MUTANT_SITE"])
PLUGINS = Path({plugins!r})


class Isolated(kit.ProviderFixtures):
    invoke_params = {{"max_tokens": 32}}

    @pytest.fixture(autouse=True)
    def _isolated(self, tmp_path, monkeypatch):
        monkeypatch.setenv("HOSTKIT_STATE_DIR", str(tmp_path / "state"))
        monkeypatch.setenv("HOSTKIT_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.delenv("HOSTKIT_CONFIG", raising=False)
        monkeypatch.chdir(tmp_path)
        with plugins_on_path(SITE):
            yield


class ExampleFixtures(Isolated):
    credentials = {{"EXAMPLE_API_KEY": "ex-fake-mutation-key-0000"}}
    cassette_folder = PLUGINS / "hostkit-example-plugin" / "cassettes"
    spec_fields = {{"model": "example-chat-8b"}}
    deployment_name = "example-chat-8b"
    unpriced_spec_fields = {{"model": "example-chat-unpriced"}}

    def trigger(self, provider, deployment, scenario):
        if scenario == "error_404":
            return provider.deploy({{"model": "no-such-model", "name": "missing-model"}})
        return super().trigger(provider, deployment, scenario)


class DedicatedFixtures(Isolated):
    credentials = {{"EXAMPLE_GPU_API_KEY": "exg-fake-mutation-key-0000"}}
    cassette_folder = PLUGINS / "hostkit-example-dedicated" / "cassettes"
    spec_fields = {dedicated_spec!r}
    failing_spec_fields = {dedicated_failing!r}
    deployment_name = "example-dedicated-chat"

{classes}
"""

CONFTEST = """
import pytest

caught = {}


def pytest_collection_modifyitems(session, config, items):
    order = {}
    for item in items:
        order.setdefault(item.cls.__name__, len(order))

    def key(item):
        first = getattr(item.cls, "first", None)
        return (order[item.cls.__name__], 0 if item.originalname == first else 1)

    items.sort(key=key)


def pytest_runtest_setup(item):
    if getattr(item.cls, "first", None) and item.cls.__name__ in caught:
        pytest.skip("this planted bug is caught already")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if outcome.get_result().failed:
        caught.setdefault(item.cls.__name__, item.name)
"""


def apply_patch(original: str, patch: str) -> str:
    """``original`` with the hunks of one file's unified diff applied (context checked)."""
    lines = original.splitlines(keepends=True)
    out: list[str] = []
    position = 0
    hunk: list[str] | None = None
    start = 0
    for line in [*patch.splitlines(keepends=True), "@@ end"]:
        match = HUNK.match(line)
        if hunk is not None and (match or line.startswith("@@ end")):
            old = [h[1:] for h in hunk if h[:1] in (" ", "-")]
            new = [h[1:] for h in hunk if h[:1] in (" ", "+")]
            if lines[start : start + len(old)] != old:
                raise ValueError(f"hunk at line {start + 1} does not apply")
            out += lines[position:start] + new
            position = start + len(old)
            hunk = None
        if match:
            start, hunk = int(match.group(1)) - 1, []
        elif hunk is not None and line[:1] in (" ", "-", "+"):
            hunk.append(line if line.endswith("\n") else line + "\n")
    return "".join(out + lines[position:])


def header(patch: str, key: str) -> str:
    found = re.search(rf"^# {key}: (.+)$", patch, re.M)
    assert found, f"the patch has no '# {key}:' line"
    return found.group(1).strip()


def plant(site: Path, package: str, tag: str, patch: str | None) -> str:
    """Copy ``package`` into ``site`` as ``<package>_<tag>``, patched; return its provider name."""
    source, name_line, _ = PACKAGES[package]
    target = site / f"{package}_{tag}"
    shutil.copytree(source / package, target, ignore=shutil.ignore_patterns("__pycache__"))
    module = target / "__init__.py"
    text = module.read_text(encoding="utf-8")
    if patch is not None:
        text = apply_patch(text, patch)
    provider = name_line.split('"')[1] + f"-{tag}"
    assert name_line in text
    module.write_text(text.replace(name_line, f'    name = "{provider}"\n'), encoding="utf-8")
    return provider


def dedicated_cassettes(folder: Path, provider: str) -> Path:
    """The dedicated example's cassettes for ``provider``: its spec fingerprints differ.

    A spec's fingerprint hashes its provider name too, and the dedicated example
    sends it when it creates an endpoint, so each renamed copy gets its own cassettes.
    """
    from hostkit import DeploymentSpec

    target = folder / f"cassettes-{provider}"
    shutil.copytree(PLUGINS / "hostkit-example-dedicated" / "cassettes", target)
    swaps = {}
    for name, fields in (
        ("example-dedicated-chat", DEDICATED_SPEC),
        ("example-dedicated-chat-failed", DEDICATED_FAILING),
    ):
        recorded = DeploymentSpec.from_dict({"provider": PACKAGE_NAMES[0], "name": name} | fields)
        renamed = DeploymentSpec.from_dict({"provider": provider, "name": name} | fields)
        swaps[recorded.fingerprint()] = renamed.fingerprint()
    for file in target.glob("*.yaml"):
        text = file.read_text(encoding="utf-8")
        for old, new in swaps.items():
            text = text.replace(old, new)
        file.write_text(text, encoding="utf-8")
    return target


def test_the_kit_catches_every_planted_bug(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hostkit.testing.plugins import write_distribution

    site = pytester.path / "mutants-site"
    site.mkdir()
    entry_points: dict[str, str] = {}
    classes: list[str] = []
    for package, (_, _, fixtures) in PACKAGES.items():  # the unmodified plugins
        name = plant(site, package, "base", None)
        entry_points[name] = f"{package}_base:{_provider_class(package)}"
        classes.append(
            f"class TestBase_{package}({fixtures}, kit.ProviderComplianceTests):\n"
            f"    provider_name = {name!r}\n" + _cassettes_line(pytester.path, package, name)
        )
    patches = sorted(MUTATIONS.glob("*.patch"))
    assert len(patches) == 23
    for patch_file in patches:
        patch = patch_file.read_text(encoding="utf-8")
        package, check = header(patch, "plugin"), header(patch, "caught by")
        tag = "m" + patch_file.name[:2]
        name = plant(site, package, tag, patch)
        entry_points[name] = f"{package}_{tag}:{_provider_class(package)}"
        classes.append(
            f"class TestMutant_{patch_file.stem}({PACKAGES[package][2]},"
            " kit.ProviderComplianceTests):\n"
            f"    provider_name = {name!r}\n"
            f"    first = {check!r}\n" + _cassettes_line(pytester.path, package, name)
        )
    write_distribution(site, "hostkit-mutants", entry_points=entry_points, modules={})
    monkeypatch.setenv("HOSTKIT_MUTANT_SITE", str(site))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_kit_run=KIT_RUN.format(
            plugins=str(PLUGINS),
            classes="\n\n".join(classes),
            dedicated_spec=DEDICATED_SPEC,
            dedicated_failing=DEDICATED_FAILING,
        )
    )
    result = pytester.inline_run(
        "-p", "no:cacheprovider", "-p", "no:randomly", "-q", "--tb=no",
        "-o", "asyncio_default_fixture_loop_scope=function",
    )  # fmt: skip
    failures: dict[str, list[str]] = {}
    ran: set[str] = set()
    for report in result.getreports("pytest_runtest_logreport"):
        cls = report.nodeid.split("::")[1]
        ran.add(cls)
        if report.failed:
            failures.setdefault(cls, []).append(f"{report.nodeid.split('::')[-1]} ({report.when})")
    broken_base = {c: f for c, f in failures.items() if c.startswith("TestBase_")}
    assert not broken_base, f"the unmodified example plugins must pass the kit: {broken_base}"
    mutants = sorted(c for c in ran if c.startswith("TestMutant_"))
    assert len(mutants) == len(patches)
    caught = [m for m in mutants if m in failures]
    missed = [m.removeprefix("TestMutant_") for m in mutants if m not in failures]
    summary = f"the compliance kit caught {len(caught)} of {len(mutants)} planted bugs"
    print(summary)
    for mutant in mutants:
        print(f"  {mutant.removeprefix('TestMutant_')}: {failures.get(mutant, ['MISSED'])[0]}")
    assert not missed, f"{summary}; missed: {missed}"


def _cassettes_line(folder: Path, package: str, provider: str) -> str:
    if package != "hostkit_example_dedicated":
        return ""
    return f"    cassette_folder = Path({str(dedicated_cassettes(folder, provider))!r})\n"


def _provider_class(package: str) -> str:
    return {
        "hostkit_example_plugin": "ExampleProvider",
        "hostkit_example_dedicated": "ExampleDedicatedProvider",
    }[package]
