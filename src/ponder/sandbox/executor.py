"""Run a Python or shell program in Debian's bubblewrap: a fresh writable work folder mounted at
/work, the system read-only (/usr, /etc without the shadow files), no home, no network (its own
empty network namespace), its own PID namespace (nothing outlives the program), running as
`nobody`, with limits on wall time, CPU time, address space, file size, output and processes.

Limits: wall time by killing the sandbox; CPU seconds, address space and file size by rlimits set
by util-linux's `prlimit` before bubblewrap starts (inherited by everything inside); output by reading at most
`output_bytes` of stdout and stderr together, then killing the sandbox; processes by a cgroup's
`pids.max` where this user may create one (cgroup v1 or v2), else by RLIMIT_NPROC above what the
user already runs (not for root, whom the kernel exempts: `Sandbox.enforced` says which limits
hold). A run that hits a limit is an `Execution` with `limit` set, never an exception.

Without bubblewrap a `Sandbox` refuses to run code (`SandboxUnavailable`) unless made with
`unsafe=True`, which runs the program directly under the same rlimits and warns once on stderr.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ponder.errors import ConfigError

LANGUAGES = {"python": ("script.py", "python3"), "sh": ("script.sh", "sh")}
ALIASES = {"py": "python", "python3": "python", "bash": "sh", "shell": "sh", "console": "sh"}
NOBODY = 65534
PATH = "/usr/bin:/bin"  # the system interpreters, inside the sandbox and out
CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))


class SandboxUnavailable(ConfigError):
    """bubblewrap is not installed (or cannot start) and unsafe execution was not asked for."""


@dataclass(frozen=True)
class Limits:
    wall_s: float = 10.0
    cpu_s: int = 10
    memory_mb: int = 1024
    processes: int = 64
    output_bytes: int = 64_000
    file_mb: int = 64


@dataclass(frozen=True)
class Execution:
    """What a program did: its exit code (negative: killed by that signal), its output (cut at the
    limit), how long it ran, and `limit` when a limit stopped it (wall, output) or it was killed by
    one (cpu, file size)."""

    language: str
    code: str
    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    limit: str | None = None
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.limit is None

    def report(self) -> str:
        """The result as an agent reads it: the exit code, why it stopped, and the output."""
        head = f"exit code: {self.exit_code}" + (f" (stopped: {self.limit} limit)" if self.limit else "")
        parts = [head]
        if self.stdout:
            parts.append("stdout:\n" + self.stdout)
        if self.stderr:
            parts.append("stderr:\n" + self.stderr)
        if self.truncated:
            parts.append("(output truncated)")
        return "\n".join(parts)


def language_of(name: str) -> str:
    """The language a code block's tag names; ConfigError for one the sandbox does not run."""
    tag = ALIASES.get(name.strip().lower(), name.strip().lower())
    if tag not in LANGUAGES:
        raise ConfigError(f"cannot run {name!r} code: the sandbox runs python and sh")
    return tag


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


@dataclass
class Sandbox:
    """Runs programs one after another in one work folder (files persist between runs); `close()`
    removes the folder."""

    limits: Limits = field(default_factory=Limits)
    unsafe: bool = False
    folder: Path = field(init=False)
    enforced: dict[str, bool] = field(init=False)

    def __post_init__(self) -> None:
        self.bwrap = bwrap_path()
        prlimit = shutil.which("prlimit")
        if prlimit is None:
            raise SandboxUnavailable("code execution needs util-linux's prlimit (apt-get install util-linux)")
        self.prlimit = prlimit
        if self.bwrap is None and not self.unsafe:
            raise SandboxUnavailable(
                "code execution needs bubblewrap (apt-get install bubblewrap, or bash scripts/install-bubblewrap); "
                "pass unsafe=True (--unsafe-code) to run code without a sandbox"
            )
        if self.bwrap is None:
            print("warning: running model-written code WITHOUT a sandbox (unsafe)", file=sys.stderr)
        self.folder = Path(tempfile.mkdtemp(prefix="ponder-sandbox-"))
        self.folder.chmod(0o777)
        self.cgroup_root = _cgroup_root()
        self.enforced = {
            "wall": True,
            "cpu": True,
            "memory": True,
            "file size": True,
            "output": True,
            "network": self.bwrap is not None,
            "filesystem": self.bwrap is not None,
            "processes": self.cgroup_root is not None or os.getuid() != 0,
        }

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, code: str, language: str = "python") -> Execution:
        """Run `code` to completion or to a limit."""
        language = language_of(language)
        name, interpreter = LANGUAGES[language]
        script = self.folder / name
        script.write_text(code, encoding="utf-8")
        script.chmod(0o644)
        if self.bwrap is not None:
            argv = self._bwrap_argv(interpreter, name)
        else:
            argv = [shutil.which(interpreter, path=PATH) or interpreter, name]
        cgroup = self._cgroup()
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                self._limited(argv, cgroup),
                cwd=self.folder,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                env={
                    "PATH": "/usr/bin:/bin",
                    "HOME": "/work",
                    "LANG": "C.UTF-8",
                    "PYTHONDONTWRITEBYTECODE": "1",
                },
            )
            out, err, limit, truncated = _collect(proc, self.limits)
        finally:
            _remove_cgroup(cgroup)
        seconds = time.monotonic() - start
        code_ = proc.returncode
        if self.bwrap is not None and code_ > 128:  # bubblewrap reports a signal as 128 + its number
            code_ = -(code_ - 128)
        if limit is None and code_ == -signal.SIGXCPU:
            limit = "cpu"
        if limit is None and code_ == -signal.SIGKILL:  # the hard CPU limit, or the kernel out of memory
            limit = "cpu" if seconds >= self.limits.cpu_s else "killed"
        if limit is None and code_ == -signal.SIGXFSZ:
            limit = "file size"
        return Execution(
            language,
            code,
            code_,
            out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"),
            seconds,
            limit,
            truncated,
        )

    def _bwrap_argv(self, interpreter: str, script: str) -> list[str]:
        argv = [str(self.bwrap), "--ro-bind", "/usr", "/usr"]
        for name in ("bin", "lib", "lib64", "sbin"):
            target = Path("/") / name
            if target.is_symlink():
                argv += ["--symlink", os.readlink(target), f"/{name}"]
            elif target.is_dir():
                argv += ["--ro-bind", str(target), f"/{name}"]
        argv += ["--ro-bind", "/etc", "/etc"]
        for secret in ("/etc/shadow", "/etc/gshadow", "/etc/sudoers"):
            if Path(secret).exists():
                argv += ["--ro-bind", "/dev/null", secret]
        argv += [
            "--dev", "/dev",
            "--proc", "/proc",
            "--tmpfs", "/tmp",
            "--bind", str(self.folder), "/work",
            "--remount-ro", "/",
            "--chdir", "/work",
            "--unshare-all",
            "--unshare-user",
            "--uid", str(NOBODY),
            "--gid", str(NOBODY),
            "--die-with-parent",
            "--new-session",
            "--",
            interpreter,
            script,
        ]  # fmt: skip
        return argv

    def _limited(self, argv: list[str], cgroup: Path | None) -> list[str]:
        """`argv` run under the rlimits (util-linux `prlimit`, inherited by everything it starts),
        after joining the cgroup; no code runs in the forked child before exec, so this is safe
        from threads."""
        lim = self.limits
        memory, size = lim.memory_mb * 1024 * 1024, lim.file_mb * 1024 * 1024
        limits = [f"--cpu={lim.cpu_s}:{lim.cpu_s + 1}", f"--as={memory}", f"--fsize={size}", "--core=0"]
        if cgroup is None and os.getuid() != 0:
            running = _processes_of(os.getuid())
            limits.append(f"--nproc={running + lim.processes}")
        limited = [self.prlimit, *limits, "--", *argv]
        if cgroup is None:
            return limited
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(cgroup / "cgroup.procs"), *limited]

    def _cgroup(self) -> Path | None:
        if self.cgroup_root is None:
            return None
        path = self.cgroup_root / f"ponder-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(self.limits.processes))
        except OSError:
            _remove_cgroup(path)
            return None
        return path


def _cgroup_root() -> Path | None:
    """A pids cgroup folder this process may create children in, if any."""
    for root in CGROUP_ROOTS:
        probe = root / f"ponder-probe-{uuid.uuid4().hex[:8]}"
        try:
            probe.mkdir()
        except OSError:
            continue
        ok = (probe / "pids.max").exists()
        _remove_cgroup(probe)
        if ok:
            return root
    return None


def _remove_cgroup(path: Path | None) -> None:
    if path is None:
        return
    for _ in range(50):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


def _processes_of(uid: int) -> int:
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _collect(proc: subprocess.Popen[bytes], limits: Limits) -> tuple[bytes, bytes, str | None, bool]:
    """Read the program's output until it exits, its output passes the limit, or its wall time
    runs out (then kill it): (stdout, stderr, the limit that stopped it, whether output was cut)."""
    assert proc.stdout is not None and proc.stderr is not None
    chunks: dict[str, list[bytes]] = {"out": [], "err": []}
    total, limit, truncated = 0, None, False
    deadline = time.monotonic() + limits.wall_s
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ, "out")
        sel.register(proc.stderr, selectors.EVENT_READ, "err")
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                limit = "wall"
                _kill(proc)
                break
            for key, _ in sel.select(timeout=min(left, 0.5)):
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fileobj)
                    continue
                room = limits.output_bytes - total
                chunks[key.data].append(data[: max(room, 0)])
                total += len(data)
                if total > limits.output_bytes:
                    truncated, limit = True, "output"
                    _kill(proc)
                    break
            if limit is not None:
                break
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        _kill(proc)
        proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    return b"".join(chunks["out"]), b"".join(chunks["err"]), limit, truncated
