"""`ponder serve` from the command line: bad settings are one line and exit 2 before anything is
served; a real server process answers on loopback and marks its runs done when stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from ponder.cli import app
from ponder.store import Store
from servers import free_port

runner = CliRunner()


def refused(args, *words):
    res = runner.invoke(app, ["serve", "--model", "stub", *args])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.output
    for word in words:
        assert word in lines[0], res.output
    return lines[0]


def test_binding_beyond_loopback_needs_keys(tmp_path):
    refused(["--host", "0.0.0.0"], "--host 0.0.0.0 is not loopback", "--api-key")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("limits: {concurrency: 0}\n", ["limits.concurrency", "greater than or equal to 1"]),
        ("surprise: 1\n", ["surprise", "Extra inputs"]),
        ("aliases: [1, 2\n", ["line", "not valid YAML"]),
        ("- a list\n", ["expected a mapping"]),
    ],
)
def test_a_bad_config_file_is_named_with_its_field(tmp_path, text, words):
    path = tmp_path / "serve.yaml"
    path.write_text(text)
    refused(["--config", str(path)], str(path), *words)


def test_a_config_file_that_is_not_utf8_or_missing(tmp_path):
    path = tmp_path / "serve.yaml"
    path.write_bytes(b"model: \xff\xfe\n")
    refused(["--config", str(path)], "not UTF-8")
    refused(["--config", str(tmp_path / "nope.yaml")], "cannot read it")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("", ["holds no keys"]),
        ("# only a comment\n", ["holds no keys"]),
        ("short\n", ["at least 16 characters"]),
    ],
)
def test_a_bad_keys_file(tmp_path, content, words):
    path = tmp_path / "keys.txt"
    path.write_text(content)
    refused(["--api-keys-file", str(path)], *words)


def test_bad_flags(tmp_path):
    refused(["--alias", "nothing-here"], "--alias", "NAME=ROUTE")
    refused(["--reply", "everything"], "--reply must be answer or chain")


@pytest.mark.loopback
def test_a_server_process_answers_and_marks_its_runs_done_when_stopped(tmp_path):
    port = free_port()
    store = tmp_path / "serve.db"
    keys = tmp_path / "keys.txt"
    keys.write_text("# clients\nkey-for-the-test-0001\n")
    argv = [
        sys.executable,
        "-m",
        "ponder.cli",
        "serve",
        "--model",
        "stub",
        "--port",
        str(port),
        "--store",
        str(store),
        "--api-keys-file",
        str(keys),
        "--alias",
        "sc=self-consistency[k=2]",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=os.environ.copy())
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode()
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        auth = {"Authorization": "Bearer key-for-the-test-0001"}
        body = {"model": "sc", "messages": [{"role": "user", "content": "6 * 7?"}]}
        r = httpx.post(f"{base}/v1/chat/completions", json=body, headers=auth, timeout=30)
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "42"
        assert httpx.post(f"{base}/v1/chat/completions", json=body, timeout=30).status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=30)[0].decode()
    assert f"serving stub at http://127.0.0.1:{port}/v1" in out
    with Store(store, readonly=True) as s:
        [run] = [x for x in s.runs() if x["kind"] == "serve"]
        assert run["status"] == "done" and run["strategy"] == "self-consistency"
