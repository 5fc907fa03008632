"""What the README promises beyond its tour: the scripts it lists run on the README install
(an optional extra missing is a one-line note, not a traceback), the fake LLM server is a
public example whose documented flags exist, and every documented LLM command binds {host}."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMPARE_SCRIPT = ROOT / "examples" / "compare_providers.py"
BENCHMARK_SCRIPT = ROOT / "benchmarks" / "run.py"
FAKE_SERVER = ROOT / "examples" / "fake_openai_server.py"


def run_without(module: str, script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` as __main__ in a Python where ``import module`` fails, as if not installed."""
    code = (
        "import runpy, sys\n"
        f"sys.modules[{module!r}] = None\n"
        f"sys.argv = [{str(script)!r}, *{list(args)!r}]\n"
        f"runpy.run_path({str(script)!r}, run_name='__main__')\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get_json(url: str, deadline_s: float = 20.0) -> object:
    """GET ``url`` as JSON, retrying while the server starts."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_compare_example_without_matplotlib_skips_the_plot_and_says_which_extra() -> None:
    done = run_without("matplotlib", COMPARE_SCRIPT)
    assert done.returncode == 0, done.stderr
    assert "local-scores" in done.stdout  # the table
    assert 'plot skipped: compare.png needs matplotlib, pip install "hostkit-ml[plot]"' in (
        done.stdout
    )
    assert Path("compare.csv").exists() and not Path("compare.png").exists()


def test_benchmarks_without_opentelemetry_print_the_other_figures_and_name_the_extra() -> None:
    done = run_without("opentelemetry", BENCHMARK_SCRIPT, "--imports", "1", "--rounds", "1",
                       "--calls", "3")  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line[:3] for line in lines] == ["(a)", "(b)", "(c)"]
    assert "skipped" in lines[2] and 'pip install "hostkit-ml[otel]"' in lines[2]


def test_the_extras_the_readme_and_scripts_name_exist() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for extra, script in (("plot", COMPARE_SCRIPT), ("otel", BENCHMARK_SCRIPT)):
        assert extra in extras
        named = f'pip install "hostkit-ml[{extra}]'
        assert named in script.read_text() and named in README, (extra, script.name)


def test_the_fake_server_is_a_module_with_the_flags_its_docstring_names() -> None:
    import hostkit_examples.fake_openai_server as fake

    usage = fake.__doc__.split("Run: ", 1)[1].split("\n\n", 1)[0]
    documented = set(re.findall(r"--[a-z]+", usage))
    assert documented == {"--port", "--host", "--model", "--delay"}
    shown = subprocess.run(
        [sys.executable, "-m", "hostkit_examples.fake_openai_server", "--help"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert all(flag in shown for flag in documented), shown


def test_the_fake_server_listens_on_host_and_port_and_reports_its_model() -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "hostkit_examples.fake_openai_server",
         "--host", "127.0.0.1", "--port", str(port), "--model", "tiny-chat"],
    )  # fmt: skip
    try:
        models = get_json(f"http://127.0.0.1:{port}/v1/models")
        assert models == {"object": "list", "data": [{"id": "tiny-chat", "object": "model"}]}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/chat/completions",
            data=json.dumps({"messages": [{"role": "user", "content": "hi there"}]}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            answer = json.loads(response.read())
        assert answer["model"] == "tiny-chat"
        assert answer["choices"][0]["message"]["content"] == "echo: hi there"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_every_documented_llm_command_binds_the_host_placeholder() -> None:
    docs = README + (ROOT / "docs" / "providers" / "local.md").read_text(encoding="utf-8")
    commands = re.findall(r'command = "([^"]+)"', docs)
    assert any(c.startswith("vllm serve") for c in commands), commands
    for command in commands:
        assert "{host}" in command, f"{command!r} would listen on every interface"
