"""A trained checkpoint as a GGUF file that ponder's local backend serves (`-m local:FILE.gguf`), so
`ponder eval` measures it at llama.cpp's speed and in the same quantisation as the model it came
from.

The metadata (architecture, hyper-parameters, tokenizer, chat template) is copied from the GGUF
the model was trained from; the tensors come from the checkpoint, renamed by gguf-py's tensor map
(transformers' names to llama.cpp's): matrices as F16, vectors (norms, biases) as F32, as
llama.cpp's own converter writes them. A tied output layer is written out as the embedding. Then
llama.cpp quantises the file (`quantize`, Q4_K_M by default: the shipped models' type) unless
`quantize=None`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError

QUANTS = {"q4_k_m": "LLAMA_FTYPE_MOSTLY_Q4_K_M", "q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0", "f16": None}


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    if field is None:
        raise ConfigError(f"the base GGUF has no {key}")
    return field.contents()


def _tensors(folder: Path) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    if "lm_head.weight" not in state:
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
    return state


def write_f16(folder: Path, base_gguf: Path, out: Path) -> Path:
    """The checkpoint in `folder` as an F16 GGUF with `base_gguf`'s metadata."""
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(base_gguf)
    arch_name = _field(reader, "general.architecture")
    arch = {v: k for k, v in gguf.MODEL_ARCH_NAMES.items()}.get(arch_name)
    if arch is None:
        raise ConfigError(f"{base_gguf}: unknown architecture {arch_name!r}")
    blocks = int(_field(reader, f"{arch_name}.block_count"))
    names = gguf.get_tensor_name_map(arch, blocks)
    expected = {t.name: tuple(int(x) for x in t.shape) for t in reader.tensors}
    state = _tensors(folder)
    renamed: dict[str, Any] = {}
    for name, value in state.items():
        target = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if target is not None and target in expected:
            renamed[target] = value
    missing = sorted(set(expected) - set(renamed))
    if missing:
        raise ConfigError(
            f"{folder}: no weights for {', '.join(missing[:5])} of the base model {base_gguf.name}"
        )
    for name, value in renamed.items():
        if tuple(reversed(value.shape)) != expected[name]:
            raise ConfigError(
                f"{folder}: {name} has shape {tuple(value.shape)}, the base model {base_gguf.name} "
                f"{tuple(reversed(expected[name]))}: not the same architecture"
            )

    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    writer = gguf.GGUFWriter(tmp, arch_name)
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name in ("general.architecture", "general.file_type"):
            continue
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), kind, sub_type=sub)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    for t in reader.tensors:
        value = renamed[t.name]
        data = value.astype(np.float16) if value.ndim == 2 else value.astype(np.float32)
        writer.add_tensor(t.name, data)
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def quantize(source: Path, out: Path, kind: str) -> Path:
    """llama.cpp's quantisation of a GGUF file."""
    import llama_cpp
    from llama_cpp._utils import suppress_stdout_stderr

    params = llama_cpp.llama_model_quantize_default_params()
    ftype = QUANTS[kind]
    if ftype is None:
        raise ConfigError(f"{kind} is written directly, not quantised")
    params.ftype = getattr(llama_cpp, ftype)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with suppress_stdout_stderr(disable=False):  # llama.cpp logs a line per tensor
            status = llama_cpp.llama_model_quantize(str(source).encode(), str(tmp).encode(), params)
        if status != 0:
            raise ConfigError(f"llama.cpp could not quantise {source} to {kind} (status {status})")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def export_gguf(folder: Path, out: Path, base: str = "local", kind: str = "q4_k_m") -> Path:
    """The checkpoint in `folder` as the GGUF file `out`, metadata from `base`'s GGUF (a local
    model spec), quantised to `kind` (q4_k_m, q8_0 or f16)."""
    from ponder.models import registry, weights

    if kind not in QUANTS:
        raise ConfigError(f"--quantize {kind!r}: expected one of {', '.join(QUANTS)}")
    if not (folder / "config.json").is_file():
        raise ConfigError(f"{folder}: not a saved model (no config.json)")
    name = base.partition(":")[2] or registry.DEFAULT_LOCAL
    base_gguf = weights.assemble(registry.lookup(name))
    out.parent.mkdir(parents=True, exist_ok=True)
    if kind == "f16":
        return write_f16(folder, base_gguf, out)
    f16 = out.with_name(out.stem + ".f16.gguf")
    write_f16(folder, base_gguf, f16)
    try:
        return quantize(f16, out, kind)
    finally:
        f16.unlink(missing_ok=True)
