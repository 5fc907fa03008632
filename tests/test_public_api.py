"""The public surface, the import cost promise, and the README's setup lines."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import hostkit

ROOT = Path(__file__).resolve().parents[1]


def test_public_names_are_pinned() -> None:
    assert set(hostkit.__all__) == {
        "Capabilities", "Config", "CostEstimate", "CostLine", "Deployment", "DeploymentSpec",
        "InvokeResult", "LogLine", "Metrics", "Offering", "OperationEvent", "Price", "Provider",
        "ProviderInfo", "Stream", "Usage", "Workload",
        "__version__", "add_hook", "ainvoke", "available_providers", "compare_costs", "cost",
        "deploy", "errors", "get_provider", "invoke", "load_config", "logs", "on_progress",
        "scale", "stream", "teardown", "list_deployments", "teardown_all", "recommend",
    }  # fmt: skip
    for name in hostkit.__all__:
        assert hasattr(hostkit, name), name


def test_import_hostkit_loads_no_sdk_cli_or_http_stack() -> None:
    # only what `import hostkit` adds: site start-up may load namespace packages
    # (google-cloud's nspkg .pth imports `google` in every interpreter)
    code = (
        "import sys, json; before = set(sys.modules); import hostkit;"
        " print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    heavy = {
        "groq", "cerebras", "huggingface_hub", "replicate", "boto3", "botocore", "google",
        "azure", "rich", "click", "typer", "argparse", "hostkit.cli", "uvicorn", "httpx",
        "tenacity", "asyncio", "hostkit_providers",
    }  # fmt: skip
    assert not heavy & loaded, f"import hostkit also imported {sorted(heavy & loaded)}"


def test_ci_runs_the_readme_setup_lines_verbatim() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    lines = re.findall(r"```bash\n(.+?)\n```", readme)
    test_line = next(line for line in lines if "pytest" in line)
    quickstart = next(line for line in lines if "quickstart" in line)
    assert quickstart.startswith("pip install") and quickstart.endswith("hostkit quickstart")
    assert test_line in ci and quickstart in ci
    # CI upgrades nothing the README does not: every pip command in CI is one of the two lines
    pip_lines = [line for line in ci if "pip install" in line and not line.lstrip().startswith("#")]
    assert pip_lines == [quickstart, test_line]
    # and each line runs in a venv CI has just made
    assert ci.index(quickstart) > ci.index("fresh_venv .venv-ci-quickstart")
    assert ci.index(test_line) > ci.index("fresh_venv .venv-ci")
