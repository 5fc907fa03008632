"""Issue #14, the first hour: nothing fails silently, long waits show progress, docs match.

A stream from a server that ignores ``stream: true``, ``hostkit bench``'s error messages,
the wait's progress line (in place on a terminal, plain lines in a file), the compare
plot's axis when every cost is $0, ``CostComparison.table()``, the cost source naming
the real config file, ``status --watch`` during a teardown and help for every
positional argument.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from hostkit._openai import build_chat_body, chat_stream
from hostkit.errors import ProviderError

COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "tiny",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "the whole answer"}}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6},
}


# -- stream() from a server that ignores stream: true ------------------------------------
class _IgnoresStream(BaseHTTPRequestHandler):
    """Answers every chat request with one JSON body, whatever ``stream`` says."""

    protocol_version = "HTTP/1.1"
    answer: Any = COMPLETION

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps(self.answer, indent=2).encode()  # several lines, as some servers do
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def plain_server() -> Iterator[tuple[str, type[_IgnoresStream]]]:
    """A loopback server that never streams; the handler class sets what it answers."""
    handler = type("Handler", (_IgnoresStream,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _stream_from(url: str) -> Any:
    client = httpx.Client(base_url=url)
    context = client.stream(
        "POST", "/v1/chat/completions", json=build_chat_body("tiny", "hi", {}, stream=True)
    )
    response = context.__enter__()

    def close() -> None:
        context.__exit__(None, None, None)
        client.close()

    return chat_stream(
        response.iter_lines(), provider="test", model="tiny", started=0.0, close=close
    )


def test_stream_falls_back_to_the_whole_answer(
    plain_server: tuple[str, type[_IgnoresStream]],
) -> None:
    url, _ = plain_server
    stream = _stream_from(url)
    assert list(stream) == ["the whole answer"]
    assert stream.result is not None and stream.result.text == "the whole answer"
    assert stream.result.usage.input_tokens == 3 and stream.result.usage.output_tokens == 3
    assert stream.result.request_id == "chatcmpl-1" and stream.result.ttft_s is not None


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        ({"status": "ok"}, "neither server-sent events.*nor a chat completion"),
        ({"error": {"message": "model is loading"}}, "model is loading"),
    ],
)
def test_stream_of_something_else_raises(
    plain_server: tuple[str, type[_IgnoresStream]], answer: Any, match: str
) -> None:
    url, handler = plain_server
    handler.answer = answer
    with pytest.raises(ProviderError, match=match):
        list(_stream_from(url))


def test_a_real_stream_is_unchanged() -> None:
    events = [
        'data: {"id": "c1", "choices": [{"delta": {"content": "a"}}]}',
        "",
        'data: {"choices": [{"delta": {"content": "b"}}], "usage": {"completion_tokens": 2}}',
        "data: [DONE]",
    ]
    stream = chat_stream(iter(events), provider="t", model="m", started=0.0, close=lambda: None)
    assert list(stream) == ["a", "b"]
    assert stream.result is not None and stream.result.usage.output_tokens == 2


# -- hostkit bench says why requests failed ----------------------------------------------
def _bench_cli(argv: list[str]) -> int:
    import argparse

    from hostkit import cli, cli_compare

    common = cli._global_options()
    parser = argparse.ArgumentParser(prog="hostkit", parents=[common])
    commands = parser.add_subparsers(dest="command", required=True)
    cli_compare.add_commands(commands, common)
    return cli._run(parser.parse_args(argv))


def test_bench_puts_the_error_messages_in_the_footer_and_json(
    llm: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["bench", "llm", "--prompt", "please [fail]", "--concurrency", "2", "--requests", "4"]
    assert _bench_cli([*base, "--quiet"]) == 0
    table = capsys.readouterr().out
    footer = table[table.index("errors:") :]
    assert "c=2: 4 x ProviderError:" in footer and "[fail]" in footer

    assert _bench_cli([*base, "--quiet", "--json"]) == 0
    step = json.loads(capsys.readouterr().out)["steps"][0]
    (message, count), *_ = step["error_messages"].items()
    assert count == 4 and message.startswith("ProviderError:") and "[fail]" in message


# -- CostComparison.table() --------------------------------------------------------------
def test_cost_comparison_has_a_table_like_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    from hostkit import cli
    from hostkit.costs import Workload, compare_costs

    result = compare_costs(
        Workload(requests_per_day=1000, input_tokens=100, output_tokens=50),
        ["groq:llama-3.1-8b-instant", "lambdalabs:gpu_1x_a10"],
    )
    table = result.table()
    lines = table.splitlines()
    assert lines[0].startswith("workload: 1,000 requests/day")
    assert lines[1].split()[:4] == ["option", "kind", "USD/month", "per"]  # the header row
    assert any(line.startswith("groq:llama-3.1-8b-instant") for line in lines)
    assert any(line.startswith("lambdalabs:gpu_1x_a10") for line in lines)
    assert lines[-1].startswith("break-even:")

    code = cli.main(
        ["cost", "--compare", "--requests-per-day", "1000", "--input-tokens", "100",
         "--output-tokens", "50", "--candidate", "groq:llama-3.1-8b-instant",
         "--candidate", "lambdalabs:gpu_1x_a10"]
    )  # fmt: skip
    assert code == 0 and capsys.readouterr().out.strip() == table


# -- the compare plot's x-axis when every cost is $0 -------------------------------------
def test_plot_x_axis_starts_at_zero_when_every_cost_is_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.figure import Figure

    from hostkit import compare

    def report(label: str, per_1k: float | None, p50: float) -> Any:
        cost = compare.ObservedCost(per_1k_requests=per_1k, per_million_tokens=None, basis="x")
        return SimpleNamespace(label=label, cost=cost, latency_p50_s=p50, latency_p95_s=p50 * 2)

    limits: list[tuple[float, float]] = []
    save = Figure.savefig

    def savefig(self: Figure, *args: Any, **kwargs: Any) -> None:
        limits.append(self.axes[0].get_xlim())
        save(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    free = SimpleNamespace(reports=[report("a", 0.0, 0.01), report("b", 0.0, 0.02)])
    compare.plot(free, tmp_path / "free.png")  # type: ignore[arg-type]
    paid = SimpleNamespace(reports=[report("a", 0.0, 0.01), report("c", 2.0, 0.02)])
    compare.plot(paid, tmp_path / "paid.png")  # type: ignore[arg-type]
    (free_low, free_high), (paid_low, paid_high) = limits
    assert free_low == 0 and free_high > 0
    assert paid_low == 0 and paid_high > 2.0
    assert (tmp_path / "free.png").stat().st_size > 0


# -- help for every positional argument ---------------------------------------------------
def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    from hostkit import cli

    assert cli.main([*argv, "--help"]) == 0
    return capsys.readouterr().out


def _commands(text: str) -> list[str]:
    """The subcommands a ``--help`` lists under its ``COMMAND`` positional, if any."""
    import re

    lines = text.splitlines()
    if "  COMMAND" not in lines:
        return []
    found = []
    for line in lines[lines.index("  COMMAND") + 1 :]:
        if not line.startswith("    "):
            break
        if match := re.match(r"^    ([a-z][a-z-]*)(\s|$)", line):
            found.append(match.group(1))
    return found


def _positionals_without_help(text: str) -> list[str]:
    """Entries of the ``positional arguments:`` section that have no help text."""
    lines = text.splitlines()
    if "positional arguments:" not in lines:
        return []
    section = lines[lines.index("positional arguments:") + 1 :]
    section = section[: section.index("")] if "" in section else section
    bare = []
    for i, line in enumerate(section):
        if line.startswith("  ") and not line.startswith("   "):  # an entry, not a wrapped line
            has_text = len(line.strip().split(None, 1)) > 1
            continued = i + 1 < len(section) and section[i + 1].startswith("    ")
            if not (has_text or continued):
                bare.append(line.strip())
    return bare


def test_every_positional_argument_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    top = _help([], capsys)
    commands = _commands(top)
    assert {"deploy", "status", "invoke", "scale", "teardown", "cost", "logs"} <= set(commands)
    missing = {}
    for command in commands:
        text = _help([command], capsys)
        for sub in _commands(text):  # nested commands (e.g. catalog ...), if any
            if bare := _positionals_without_help(_help([command, sub], capsys)):
                missing[f"{command} {sub}"] = bare
        if bare := _positionals_without_help(text):
            missing[command] = bare
    assert missing == {}


# -- a long wait shows its phase, elapsed time and last log line ---------------------------
def _slow_llm_spec() -> dict[str, Any]:
    """A local LLM whose server prints a line, then takes 2.5 s before it listens."""
    import sys

    server = str(Path(__file__).resolve().parents[1] / "examples" / "fake_openai_server.py")
    code = (
        "import runpy, sys, time\n"
        "print('loading weights 3/10', flush=True)\n"
        "time.sleep(2.5)\n"
        f"sys.argv = [{server!r}, '--port', sys.argv[1]]\n"
        f"runpy.run_path({server!r}, run_name='__main__')\n"
    )
    return {
        "provider": "local",
        "model": "fake-llm",
        "name": "slow",
        "options": {"command": [sys.executable, "-c", code, "{port}"]},
    }


def test_progress_in_a_file_has_no_carriage_return_and_shows_the_last_log_line(
    local: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hostkit
    from hostkit import _progress

    monkeypatch.setattr(_progress, "EVERY_S", 0.5)  # a line every 0.5 s instead of 10 s
    log = tmp_path / "stderr.txt"
    with log.open("w") as stream, _progress.show_on(stream):
        hostkit.deploy(_slow_llm_spec())
    text = log.read_text()
    assert "\r" not in text
    lines = text.splitlines()
    assert "  … slow: deploying (0s)" in lines and lines[-1].startswith("  … slow: ready (")
    waiting = [line for line in lines if "deploying (" in line and "loading weights 3/10" in line]
    assert waiting, text  # elapsed time, phase and the server's last line while it waits


def test_progress_on_a_terminal_is_redrawn_in_place(local: Any) -> None:
    import io

    import hostkit
    from hostkit import _progress

    screen = io.StringIO()
    line = _progress.ProgressLine(screen, terminal=True)
    with _progress.listen(line):
        hostkit.deploy(_slow_llm_spec())
        hostkit.teardown("slow")
    text = screen.getvalue()
    drawn = text.split("\r")
    assert len(drawn) > 3 and any("deploying (" in d and "loading weights" in d for d in drawn)
    assert "slow: ready (" in drawn[-1] and text.endswith("  … slow: deleted\n")


def test_bars_write_no_carriage_return_to_a_file(tmp_path: Path) -> None:
    import io

    from hostkit._progress import Bar

    ticks = iter(range(100))
    with (tmp_path / "bar.txt").open("w") as stream:
        bar = Bar("batch", stream, every=10, clock=lambda: float(next(ticks)))
        for done in range(1, 31):
            bar(done, 30, "ok")
    lines = (tmp_path / "bar.txt").read_text().split("\n")
    assert "\r" not in "".join(lines) and lines[-1] == ""
    assert len(lines) - 1 == 4 and lines[-2].endswith("30/30  ok")  # every 10 s and the end

    screen = io.StringIO()
    terminal = Bar("batch", screen, terminal=True, clock=lambda: 0.0)
    terminal(1, 2)
    terminal(2, 2)
    assert screen.getvalue().startswith("\r") and screen.getvalue().endswith("2/2 \n")


# -- status --watch during a teardown ------------------------------------------------------
def test_watch_shows_deleting_then_deleted_during_a_teardown(
    scores: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    import hostkit
    from hostkit import cli_observe

    provider = scores._provider
    original = type(provider)._teardown
    watched = threading.Event()

    def held_teardown(self: Any, deployment: Any) -> None:
        watched.wait(10)  # until the watch has sampled while the teardown is under way
        original(self, deployment)

    monkeypatch.setattr(type(provider), "_teardown", held_teardown)
    teardown = threading.Thread(target=hostkit.teardown, args=("scores",))
    marked_at_sleep: list[int] = []

    def sleep(seconds: float) -> None:
        if teardown.ident is None:
            teardown.start()
        raw = (provider.records.load("scores") or {}).get("raw") or {}
        if raw.get("deleting_since"):
            marked_at_sleep.append(1)
        if len(marked_at_sleep) >= 2:  # a sample since the mark was seen: let it finish
            watched.set()
        import time

        time.sleep(0.05)

    monkeypatch.setattr(cli_observe, "_sleep", sleep)
    args = argparse.Namespace(name="scores", config=None, json=False, interval=0.05)
    assert cli_observe.watch(args) == 0
    teardown.join(timeout=30)
    states = [line.split()[2] for line in capsys.readouterr().out.splitlines()]
    assert states[0] == "ready" and states[-1] == "deleted"
    assert "deleting" in states and "updating" not in states


# -- the cost source names the real config file --------------------------------------------
@pytest.mark.parametrize(
    ("file", "text", "source"),
    [
        (
            "pyproject.toml",
            "[project]\nname = 'x'\n\n[tool.hostkit.providers.local]\nusd_per_hour = 2.5\n",
            "usd_per_hour under [tool.hostkit.providers.local] in pyproject.toml",
        ),
        (
            "hostkit.toml",
            "[providers.local]\nusd_per_hour = 2.5\n",
            "usd_per_hour under [providers.local] in hostkit.toml",
        ),
    ],
)
def test_cost_source_names_the_config_file_the_rate_came_from(
    file: str, text: str, source: str
) -> None:
    import hostkit

    Path(file).write_text(text)  # the tests run in an empty working directory
    spec = hostkit.DeploymentSpec(provider="local", model="m.py:predict", name="priced")
    estimate = hostkit.get_provider("local").cost(spec, hours=2)
    assert estimate.usd == 5.0 and estimate.source == source
    in_code = hostkit.get_provider("local", config=hostkit.Config(), usd_per_hour=1.0)
    assert in_code.cost(spec, hours=1).source == "the usd_per_hour setting given in code"
