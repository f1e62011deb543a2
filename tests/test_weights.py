import hashlib
import os

import pytest

from ponder.errors import ChecksumMismatch, ModelUnavailable
from ponder.models import weights
from ponder.models.registry import REGISTRY, LocalModelEntry, WeightPart


def _entry(tmp_path, chunks, sha=None):
    paths = []
    for i, data in enumerate(chunks):
        p = tmp_path / f"part{i:02d}.bin"
        p.write_bytes(data)
        paths.append(p)
    whole = b"".join(chunks)
    entry = LocalModelEntry(
        name="tiny",
        description="",
        licence="",
        chat_template="",
        parts=tuple(
            WeightPart(f"tiny-part{i}", "1.0", f"tiny_part{i}", "data/x") for i in range(len(chunks))
        ),
        sha256=sha or hashlib.sha256(whole).hexdigest(),
        size=len(whole),
    )
    return entry, paths


def test_assembles_slices_in_order_and_verifies(tmp_path, monkeypatch):
    entry, paths = _entry(tmp_path, [b"GGUF" + b"a" * 100, b"b" * 50, b"c" * 7])
    monkeypatch.setattr(weights, "part_paths", lambda e: paths)
    seen = []
    target = weights.assemble(entry, seen.append)
    assert target == weights.models_dir() / "tiny.gguf"
    assert target.read_bytes() == b"GGUF" + b"a" * 100 + b"b" * 50 + b"c" * 7
    assert sum(seen) == 161
    assert weights.assemble(entry) == target  # already there: verified by its stamp, not rebuilt


def test_wrong_slices_are_refused_and_leave_no_file(tmp_path, monkeypatch):
    entry, paths = _entry(tmp_path, [b"abc", b"def"], sha="0" * 64)
    monkeypatch.setattr(weights, "part_paths", lambda e: paths)
    with pytest.raises(ChecksumMismatch, match="expected 000000000000"):
        weights.assemble(entry)
    assert not any(weights.models_dir().glob("*"))


def test_a_corrupted_assembled_file_is_refused(tmp_path, monkeypatch):
    entry, paths = _entry(tmp_path, [b"x" * 64])
    monkeypatch.setattr(weights, "part_paths", lambda e: paths)
    target = weights.assemble(entry)
    data = bytearray(target.read_bytes())
    data[10] ^= 0xFF
    target.write_bytes(bytes(data))
    os.utime(target, ns=(1, 1))  # a changed file no longer matches its stamp
    with pytest.raises(ChecksumMismatch, match=str(target)):
        weights.assemble(entry)
    target.write_bytes(b"short")
    with pytest.raises(ChecksumMismatch, match="size 5 B"):
        weights.verify(target, entry)


def test_missing_packages_name_the_pull_command():
    entry = LocalModelEntry(
        name="ghost",
        description="",
        licence="",
        chat_template="",
        parts=(WeightPart("ponder-no-such-dist", "1.0", "nope", "data/x"),),
        sha256=None,
        size=None,
    )
    assert weights.missing_packages(entry) == ["ponder-no-such-dist==1.0"]
    with pytest.raises(ModelUnavailable, match="ponder models pull ghost"):
        weights.part_paths(entry)


def test_registry_entries_are_complete():
    for entry in REGISTRY.values():
        assert entry.sha256 and len(entry.sha256) == 64 and entry.size
        assert entry.licence and entry.parts
        assert all(p.version for p in entry.parts)
    default = REGISTRY["qwen2.5-coder-0.5b"]
    assert [p.relpath for p in default.parts] == [f"data/part{i:02d}.bin" for i in range(1, 7)]
