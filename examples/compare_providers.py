"""Compare deployments on latency and cost: the script to copy.

Run: python -m hostkit_examples.compare_providers (or python examples/compare_providers.py).

Edit TARGETS: config names from hostkit.toml or "provider:model" (serverless ones need their key,
e.g. GROQ_API_KEY). This runs offline as is: the built-in `local` provider serves the example
model. It prints the table and writes compare.json and compare.csv; the plot (compare.png) needs
the `plot` extra, `pip install "hostkit-ml[plot]"`, and is skipped with a note without it.
"""

import hostkit
from hostkit.compare import compare, plot
from hostkit.errors import DependencyMissing

TARGETS = ["local-scores"]  # e.g. + ["groq:llama-3.1-8b-instant", "cerebras:llama3.1-8b"]
PROMPTS = [{"hours": 2}, {"hours": 6}, {"hours": 9}]  # or "prompts.jsonl", one request a line

if __name__ == "__main__":
    dep = hostkit.deploy(provider="local", model="hostkit_examples.study_score:predict",
                         name="local-scores")  # fmt: skip
    try:
        result = compare(TARGETS, PROMPTS, concurrency=4, repeat=5)
        print(result.table())
        result.write_json("compare.json")
        result.write_csv("compare.csv")
        try:
            plot(result, "compare.png")
        except DependencyMissing:
            print('plot skipped: compare.png needs matplotlib, pip install "hostkit-ml[plot]"')
    finally:
        hostkit.teardown(dep)
