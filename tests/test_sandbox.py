"""The code sandbox (Debian's bubblewrap): programs run and report their output, and every escape
in the battery is contained and reported as a failed or limited execution: the network (host
loopback and outside), secrets and the home folder, writes outside the work folder, a fork bomb,
10 GB of memory, an endless loop, 100 MB of output and a process left running in the background."""

from __future__ import annotations

import os
import socket
import tempfile
import time
from pathlib import Path

import pytest

from ponder.errors import ConfigError
from ponder.sandbox import Limits, Sandbox, SandboxUnavailable, executor, language_of

pytestmark = pytest.mark.sandbox

FAST = Limits(wall_s=5, cpu_s=2, memory_mb=512, processes=32, output_bytes=10_000, file_mb=8)


@pytest.fixture
def sandbox():
    with Sandbox(FAST) as box:
        yield box


def test_python_and_shell_run_in_a_work_folder_that_persists_between_runs(sandbox):
    first = sandbox.run("open('note.txt', 'w').write('kept')\nprint('written')")
    assert first.ok and first.stdout == "written\n" and first.limit is None
    second = sandbox.run("cat note.txt; echo; pwd; id -u", "bash")
    assert second.ok and second.stdout.split() == ["kept", "/work", "65534"]
    failed = sandbox.run("raise SystemExit(3)")
    assert failed.exit_code == 3 and not failed.ok
    crashed = sandbox.run("1/0")
    assert crashed.exit_code == 1 and "ZeroDivisionError" in crashed.stderr
    assert "exit code: 1" in crashed.report() and "stderr:" in crashed.report()


def test_the_host_loopback_cannot_be_reached(sandbox):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    port = server.getsockname()[1]
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\nprint('connected')"
    result = sandbox.run(code)
    assert result.exit_code != 0 and "connected" not in result.stdout
    assert "ConnectionRefusedError" in result.stderr or "OSError" in result.stderr
    with pytest.raises(TimeoutError):
        server.accept()
    server.close()


def test_an_outside_address_cannot_be_reached(sandbox):
    code = "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)\nprint('connected')"
    result = sandbox.run(code)
    assert result.exit_code != 0 and "connected" not in result.stdout
    assert "unreachable" in result.stderr.lower()


def test_secrets_the_home_folder_and_the_repository_are_not_readable(sandbox):
    home, repo = str(Path.home()), str(Path(__file__).resolve().parents[1])
    code = f"""
import os
for path in ("/etc/shadow", "/etc/gshadow"):
    try:
        print(path, repr(open(path).read()[:40]))
    except OSError as e:
        print(path, type(e).__name__)
for path in ({home!r}, {repo!r}):
    try:
        print(path, os.listdir(path)[:3])
    except OSError as e:
        print(path, type(e).__name__)
"""
    result = sandbox.run(code)
    assert result.ok
    lines = result.stdout.splitlines()
    if os.access("/etc/shadow", os.R_OK):
        assert Path("/etc/shadow").read_text()[:20] not in result.stdout
    for line in lines[:2]:  # unreadable, or the empty file laid over it
        assert line.endswith("Error") or line.endswith("''"), line
    assert lines[2] == f"{home} FileNotFoundError" and lines[3] == f"{repo} FileNotFoundError"


def test_writes_outside_the_work_folder_fail_or_vanish(sandbox):
    host_tmp = Path(tempfile.gettempdir()) / f"ponder-escape-{os.getpid()}"
    code = f"""
for path in ("/usr/escape", "/etc/escape", "/escape", {str(host_tmp)!r}):
    try:
        open(path, "w").write("x")
        print(path, "written")
    except OSError as e:
        print(path, type(e).__name__)
"""
    result = sandbox.run(code)
    assert result.ok
    for line in result.stdout.splitlines()[:3]:
        assert not line.endswith("written"), line
    assert not Path("/usr/escape").exists() and not Path("/etc/escape").exists()
    assert not host_tmp.exists()  # /tmp inside is the sandbox's own, discarded


def processes() -> int:
    return sum(1 for p in Path("/proc").iterdir() if p.name.isdigit())


def test_a_fork_bomb_is_held_to_the_process_limit_and_leaves_nothing(sandbox):
    if not sandbox.enforced["processes"]:
        pytest.skip("this machine gives no way to limit processes (root without a pids cgroup)")
    before = processes()
    result = sandbox.run(
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    )
    assert not result.ok and result.limit in ("wall", "cpu")
    time.sleep(0.5)
    assert processes() <= before + 2


def test_ten_gigabytes_cannot_be_allocated(sandbox):
    result = sandbox.run("x = bytearray(10 * 1024**3)\nprint('allocated')")
    assert result.exit_code != 0 and "MemoryError" in result.stderr and "allocated" not in result.stdout


def test_an_endless_loop_is_stopped_by_the_cpu_or_wall_limit(sandbox):
    start = time.monotonic()
    result = sandbox.run("while True:\n    pass")
    assert result.limit in ("cpu", "wall") and not result.ok
    assert time.monotonic() - start < FAST.wall_s + 3
    sleeper = sandbox.run("import time\ntime.sleep(60)")
    assert sleeper.limit == "wall" and sleeper.seconds < FAST.wall_s + 2


def test_a_hundred_megabytes_of_output_is_cut_at_the_limit(sandbox):
    result = sandbox.run("import sys\nsys.stdout.write('x' * 100_000_000)")
    assert result.limit == "output" and result.truncated
    assert len(result.stdout) + len(result.stderr) <= FAST.output_bytes
    assert "(output truncated)" in result.report()


def test_a_huge_file_is_stopped_by_the_file_size_limit(sandbox):
    result = sandbox.run("open('big', 'wb').write(b'x' * (64 * 1024 * 1024))")
    assert not result.ok and (result.limit == "file size" or "File too large" in result.stderr)
    assert (sandbox.folder / "big").stat().st_size <= FAST.file_mb * 1024 * 1024


def test_a_background_process_does_not_outlive_the_program(sandbox):
    marker = f"ponder-left-{os.getpid()}"
    result = sandbox.run(f"sh -c 'exec -a {marker} sleep 300' &\necho started", "sh")
    assert result.ok and result.stdout == "started\n"
    time.sleep(0.5)
    left = [p for p in Path("/proc").iterdir() if p.name.isdigit() and marker in _cmdline(p)]
    assert left == []


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""


def test_without_bubblewrap_code_is_refused_unless_unsafe_is_asked_for(monkeypatch, capsys):
    monkeypatch.setattr(executor, "bwrap_path", lambda: None)
    with pytest.raises(SandboxUnavailable, match="needs bubblewrap"):
        Sandbox(FAST)
    with Sandbox(FAST, unsafe=True) as box:
        assert "WITHOUT a sandbox" in capsys.readouterr().err
        assert box.run("print(6 * 7)").stdout == "42\n"
        assert not box.enforced["network"]


def test_languages_are_named_by_their_fence_tags():
    assert [language_of(t) for t in ("python", "py", "Python3", "bash", "sh", "shell")] == [
        "python",
        "python",
        "python",
        "sh",
        "sh",
        "sh",
    ]
    with pytest.raises(ConfigError, match="cannot run 'ruby' code"):
        language_of("ruby")


def test_code_blocks_are_read_from_fences_in_order():
    from ponder.sandbox.blocks import CodeBlock, code_blocks

    text = (
        "First:\n```python\nprint(1)\n```\nthen\n```bash\necho 2\n```\n"
        '```json\n{"a": 1}\n```\n```\nx = 3\nprint(x)\n```\n```\nls -la | wc -l\n```\n'
        "~~~py\nprint('tilde')\n~~~\n```python\n```\nunclosed:\n```python\nprint('never')\n"
    )
    assert code_blocks(text) == [
        CodeBlock("python", "print(1)\n"),
        CodeBlock("sh", "echo 2\n"),
        CodeBlock("python", "x = 3\nprint(x)\n"),
        CodeBlock("sh", "ls -la | wc -l\n"),
        CodeBlock("python", "print('tilde')\n"),
    ]
    assert code_blocks("no code here") == []
    quoted = "The program printed:\n```\n18\n```\n```\nThe answer is 18.\n```\n```\n./run.sh\n```\n"
    assert code_blocks(quoted) == [CodeBlock("sh", "./run.sh\n")]
