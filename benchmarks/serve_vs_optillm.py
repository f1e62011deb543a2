"""`ponder serve` against optillm's proxy: self-consistency on GSM8K, both over one llama-server.

Both proxies sit in front of the same native llama-server (the embedded Qwen2.5-Coder 0.5B GGUF),
and answer the same N GSM8K test items one at a time, with k samples at temperature 1 and the same
max_tokens per call:
  ponder    model `self-consistency[k=K,temperature=1.0]` on `ponder serve`
  optillm   model `self_consistency-qwen` (optillm draws a fixed 5 samples, one request each)
For each item it records whether the answer is right, the wall time, the tokens the proxy reports
(`usage`), and the tokens the backend counted: the change in llama-server's /metrics counters
(prompt tokens processed, tokens predicted) over the item. The backend's count is the neutral
measure, since optillm reports no prompt tokens. Upstream requests are counted from llama-server's
log (slots launched for a new request; an n=k request is one). It prints a markdown table and the
ponder/optillm ratios of wall time and backend tokens.

optillm is installed in a venv of its own, CPU torch first (otherwise pip pulls CUDA torch):

    python -m venv /tmp/optillm-venv
    /tmp/optillm-venv/bin/pip install torch==2.13.0
    /tmp/optillm-venv/bin/pip install optillm==0.4.0

It also needs the native llama-server (scripts/build-llama-server). Not run in CI. Run:

    .venv/bin/python benchmarks/serve_vs_optillm.py [--items 20] [--k 5] [--max-tokens 512]
        [--optillm /tmp/optillm-venv/bin/optillm] [--ponder-option exemplars=gsm8k]
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from openai import OpenAI

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from ponder.tasks.answers import extract, same_answer  # noqa: E402
from ponder.tasks.gsm8k import load  # noqa: E402
from servers import free_port, llama_server_binary, native_server_argv, serving  # noqa: E402

MODEL_FILE = Path.home() / ".cache" / "ponder" / "models" / "qwen2.5-coder-0.5b.gguf"
COUNTERS = (
    "llamacpp:prompt_tokens_total",
    "llamacpp:prompt_tokens_cached_total",
    "llamacpp:tokens_predicted_total",
)
LAUNCH = re.compile(r"launch_slot_: .*is_child = (\d)")
WARM_UP = "Tom has 3 apples and buys 4 more. How many apples does he have?"


def default_optillm() -> str:
    return shutil.which("optillm") or "/tmp/optillm-venv/bin/optillm"


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def process(argv: list[str], log: Path, health: str, env: dict[str, str], cwd: Path | None = None):
    """A server subprocess, running until the block ends, once `health` answers 200."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited with {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                if httpx.get(health, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{argv[0]} did not start in 180 s: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield proc
    finally:
        stop(proc)


def counters(metrics_url: str) -> dict[str, float]:
    text = httpx.get(metrics_url, timeout=10).text
    values = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in COUNTERS:
            values[name] = float(value)
    missing = set(COUNTERS) - set(values)
    if missing:
        raise RuntimeError(f"llama-server /metrics lacks {', '.join(sorted(missing))}")
    return values


def launches(log: Path, offset: int) -> tuple[int, int, int]:
    """Requests and sequences llama-server launched since byte `offset` of its log, and the new offset."""
    data = log.read_bytes()
    kinds = [m.group(1) for m in LAUNCH.finditer(data[offset:].decode(errors="replace"))]
    return kinds.count("0"), len(kinds), len(data)


def ask_ponder(client: OpenAI, model: str, question: str, max_tokens: int) -> tuple[str | None, dict, dict]:
    reply = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": question}], max_tokens=max_tokens
    )
    extension = (reply.model_extra or {}).get("ponder") or {}
    usage = reply.usage.model_dump() if reply.usage else {}
    return extension.get("answer"), usage, extension


def ask_optillm(client: OpenAI, model: str, question: str, max_tokens: int) -> tuple[str | None, dict, dict]:
    reply = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": question}], max_tokens=max_tokens
    )
    content = reply.choices[0].message.content or ""
    usage = reply.usage.model_dump() if reply.usage else {}
    return extract(content, "number").value, usage, {"content": content}


def measure(ask, client, model, task, args, metrics_url: str, log: Path) -> dict:
    before = counters(metrics_url)
    offset = log.stat().st_size
    t0 = time.perf_counter()
    error = None
    try:
        answer, usage, extra = ask(client, model, task.question, args.max_tokens)
    except Exception as e:  # a failed request is recorded and reported
        answer, usage, extra, error = None, {}, {}, f"{type(e).__name__}: {e}"
    wall = time.perf_counter() - t0
    time.sleep(0.5)  # llama-server writes its log from a thread of its own
    after = counters(metrics_url)
    requests, sequences, _ = launches(log, offset)
    return {
        "correct": answer is not None and same_answer(answer, task.answer, "number"),
        "answer": answer,
        "wall": wall,
        "prompt": after[COUNTERS[0]] - before[COUNTERS[0]],
        "cached": after[COUNTERS[1]] - before[COUNTERS[1]],
        "generated": after[COUNTERS[2]] - before[COUNTERS[2]],
        "requests": requests,
        "sequences": sequences,
        "usage_prompt": usage.get("prompt_tokens"),
        "usage_completion": usage.get("completion_tokens"),
        "usage_cached": ((usage.get("prompt_tokens_details") or {}).get("cached_tokens")),
        "extra": extra,
        "error": error,
    }


def mean(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r[key] is not None]
    return statistics.fmean(values) if values else None


def fmt(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def summary(results: dict[str, list[dict]], n: int) -> None:
    print()
    print(
        "| proxy | accuracy | mean wall s / item | backend prompt tok / item | backend cached tok / item "
        "| backend generated tok / item | backend requests / item | proxy-reported tok / item "
        "(prompt / completion) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, rows in results.items():
        right = sum(r["correct"] for r in rows)
        print(
            f"| {name} | {right}/{n} | {fmt(mean(rows, 'wall'), 1)} | {fmt(mean(rows, 'prompt'))} "
            f"| {fmt(mean(rows, 'cached'))} | {fmt(mean(rows, 'generated'))} | {fmt(mean(rows, 'requests'), 1)} "
            f"| {fmt(mean(rows, 'usage_prompt'))} / {fmt(mean(rows, 'usage_completion'))} |"
        )
    p, o = results["ponder"], results["optillm"]
    print()
    for label, key in (
        ("wall time", "wall"),
        ("backend prompt tokens", "prompt"),
        ("backend generated tokens", "generated"),
    ):
        a, b = mean(p, key), mean(o, key)
        print(f"ponder/optillm {label}: {fmt(a / b if a is not None and b else None, 2)}")
    a = sum(r["prompt"] + r["generated"] for r in p)
    b = sum(r["prompt"] + r["generated"] for r in o)
    print(f"ponder/optillm backend tokens (prompt + generated): {fmt(a / b if b else None, 2)}")
    errors = [
        (name, i, r["error"]) for name, rows in results.items() for i, r in enumerate(rows) if r["error"]
    ]
    for name, i, error in errors:
        print(f"error: {name} item {i}: {error}")


def check_ponder_usage(rows: list[dict]) -> None:
    """Where ponder's usage disagrees with what the backend counted, say so."""
    for i, r in enumerate(rows):
        if r["error"] or r["usage_prompt"] is None:
            continue
        evaluated = r["usage_prompt"] - (r["usage_cached"] or 0)
        if evaluated != r["prompt"] or r["usage_completion"] != r["generated"]:
            print(
                f"note: ponder item {i}: usage says {evaluated:.0f} prompt tokens evaluated and "
                f"{r['usage_completion']} generated; the backend counted {r['prompt']:.0f} and "
                f"{r['generated']:.0f}"
            )


def run(args: argparse.Namespace, stack: ExitStack) -> None:
    binary = llama_server_binary()
    if binary is None:
        sys.exit("no native llama-server: build it with scripts/build-llama-server")
    optillm = shutil.which(args.optillm) or args.optillm
    if not (os.path.isfile(optillm) and os.access(optillm, os.X_OK)):
        sys.exit(f"no optillm at {args.optillm}: see this script's docstring to install it")
    scratch = Path(tempfile.mkdtemp(prefix="serve-vs-optillm-"))
    home = scratch / "home"
    home.mkdir()

    llama_port, ponder_port, optillm_port = free_port(), free_port(), free_port()
    llama_log = scratch / "llama-server.log"
    llama_argv = native_server_argv(binary, MODEL_FILE, llama_port) + [
        "--metrics",
        "-np",
        str(args.k),
        "-c",
        str(args.k * 2048),
    ]
    backend = stack.enter_context(serving(llama_argv, llama_port, llama_log))
    metrics_url = backend.removesuffix("/v1") + "/metrics"

    ponder_env = {**os.environ, "OPENAI_API_KEY": os.environ.get("OPENAI_API_KEY") or "sk-dummy"}
    ponder_argv = [
        sys.executable,
        "-m",
        "ponder.cli",
        "serve",
        "--model",
        f"openai:qwen@{backend}",
        "--port",
        str(ponder_port),
        "--store",
        str(scratch / "ponder.db"),
        "--max-tokens",
        "4096",
    ]
    optillm_env = {k: v for k, v in os.environ.items() if k != "OPTILLM_API_KEY"}
    optillm_env |= {
        "HOME": str(home),
        "OPENAI_API_KEY": "sk-dummy",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
    }
    optillm_argv = [
        optillm,
        "--host",
        "127.0.0.1",
        "--port",
        str(optillm_port),
        "--base-url",
        backend,
        "--log",
        "warning",
    ]
    for argv in (llama_argv, ponder_argv, optillm_argv):
        print(f"$ {shlex.join(argv)}")
    print(f"logs and store in {scratch}", flush=True)
    stack.enter_context(
        process(ponder_argv, scratch / "ponder.log", f"http://127.0.0.1:{ponder_port}/health", ponder_env)
    )
    stack.enter_context(
        process(
            optillm_argv,
            scratch / "optillm.log",
            f"http://127.0.0.1:{optillm_port}/health",
            optillm_env,
            home,
        )
    )

    proxies = {
        "ponder": (
            ask_ponder,
            OpenAI(
                base_url=f"http://127.0.0.1:{ponder_port}/v1", api_key="dummy", timeout=1800, max_retries=0
            ),
            f"self-consistency[k={args.k},temperature=1.0{''.join(',' + o for o in args.ponder_option)}]",
        ),
        "optillm": (
            ask_optillm,
            OpenAI(
                base_url=f"http://127.0.0.1:{optillm_port}/v1", api_key="dummy", timeout=1800, max_retries=0
            ),
            "self_consistency-qwen",
        ),
    }
    for name, (ask, client, model) in proxies.items():  # warm-up, not measured
        try:
            ask(client, model, WARM_UP, 32)
        except Exception as e:
            print(f"warm-up of {name} failed: {type(e).__name__}: {e}", flush=True)

    tasks = load("test", limit=args.items)
    print(
        f"{len(tasks)} GSM8K test items, k={args.k}, max_tokens={args.max_tokens}, T=1.0, sequential",
        flush=True,
    )
    results: dict[str, list[dict]] = {name: [] for name in proxies}
    for i, task in enumerate(tasks):
        for name, (ask, client, model) in proxies.items():
            r = measure(ask, client, model, task, args, metrics_url, llama_log)
            results[name].append(r)
            status = "ok " if r["correct"] else "BAD"
            print(
                f"item {i:>2} {name:<8}{status} gold {task.answer:>8} got {str(r['answer'])[:10]:>10} "
                f"{r['wall']:7.1f} s  backend {r['prompt']:5.0f} prompt {r['cached']:5.0f} cached "
                f"{r['generated']:5.0f} gen {r['requests']} req {r['sequences']} seq  usage "
                f"{r['usage_prompt']} / {r['usage_completion']}"
                + (f"  ERROR {r['error']}" if r["error"] else ""),
                flush=True,
            )
    summary(results, len(tasks))
    check_ponder_usage(results["ponder"])


def interrupted(signum, frame) -> None:
    """Stop at the first SIGINT or SIGTERM; later ones are ignored while the servers stop."""
    for other in (signal.SIGINT, signal.SIGTERM):
        signal.signal(other, signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=20, help="GSM8K test items (the first N)")
    ap.add_argument("--k", type=int, default=5, help="samples per item (optillm's is fixed at 5)")
    ap.add_argument("--max-tokens", type=int, default=512, help="most tokens per sample")
    ap.add_argument("--optillm", default=default_optillm(), help="the optillm binary")
    ap.add_argument(
        "--ponder-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="another option of ponder's self-consistency, e.g. exemplars=gsm8k (repeatable)",
    )
    args = ap.parse_args()
    print(f"$ {shlex.join([sys.executable, *sys.argv])}", flush=True)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, interrupted)
    with ExitStack() as stack:
        try:
            run(args, stack)
        except KeyboardInterrupt:
            print("interrupted; stopping the servers", file=sys.stderr)
            raise SystemExit(130) from None


if __name__ == "__main__":
    main()
