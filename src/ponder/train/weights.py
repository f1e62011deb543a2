"""Transformers weights for training, from the GGUF files ponder already has.

A model spec is:
- `local` or `local:NAME`: a model of ponder's registry; its GGUF is dequantised by transformers'
  `gguf_file` loader into fp32 weights, and the result (model and tokenizer) is saved once under
  `<models dir>/hf/NAME` (PONDER_MODELS_DIR), so later runs load it in seconds;
- `tiny`: a randomly initialised Qwen2 of ~10M parameters (hidden 64, 2 layers) with the default
  model's tokenizer, for tests and dry runs (seeded: the same weights every time);
- a folder: a checkpoint `ponder train` saved (or any transformers model folder).

Importing this module needs the `train` extra (torch, transformers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ponder.errors import ConfigError, ModelUnavailable
from ponder.models import registry, weights

TINY: dict[str, Any] = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "tie_word_embeddings": True,
    "max_position_embeddings": 2048,
}


def _require() -> None:
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        raise ConfigError("training needs the train extra: pip install -e '.[train]'") from None


def _quiet() -> None:
    from transformers.utils import logging

    logging.set_verbosity_error()  # type: ignore[no-untyped-call]


def _name(spec: str) -> str:
    return spec.partition(":")[2] or registry.DEFAULT_LOCAL


def hf_dir(spec: str) -> Path:
    """The folder of transformers weights for a spec (made from the GGUF on first use)."""
    _require()
    if spec == "tiny":
        raise ConfigError("the tiny model has no folder: it is built in memory")
    if spec == "local" or spec.startswith("local:"):
        name = _name(spec)
        entry = registry.lookup(name)
        target = weights.models_dir() / "hf" / name
        if (target / "config.json").is_file():
            return target
        return _dequantise(weights.assemble(entry), target)
    path = Path(spec).expanduser()
    if not (path / "config.json").is_file():
        raise ModelUnavailable(
            f"model {spec!r}: expected local, local:NAME, tiny or a folder with config.json"
        )
    return path


def _dequantise(gguf: Path, target: Path) -> Path:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _quiet()
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tmp = target.with_name(target.name + ".partial")
    save(model, tokenizer, tmp)
    tmp.replace(target)
    return target


def save(model: Any, tokenizer: Any, folder: Path) -> None:
    """Save a model and tokenizer; a model loaded from a GGUF keeps a quantizer that refuses to
    save, so it is dropped first (the weights are plain fp32 by then)."""
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def tokenizer_for(spec: str) -> Any:
    """The spec's tokenizer; the tiny model's is the default model's, read from its GGUF once and
    saved under `<models dir>/hf/NAME-tokenizer`."""
    from transformers import AutoTokenizer

    _quiet()
    if spec != "tiny":
        return AutoTokenizer.from_pretrained(hf_dir(spec))
    full = weights.models_dir() / "hf" / registry.DEFAULT_LOCAL
    if (full / "tokenizer_config.json").is_file():
        return AutoTokenizer.from_pretrained(full)
    target = weights.models_dir() / "hf" / f"{registry.DEFAULT_LOCAL}-tokenizer"
    if not (target / "tokenizer_config.json").is_file():
        gguf = weights.assemble(registry.lookup(registry.DEFAULT_LOCAL))
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        tmp = target.with_name(target.name + ".partial")
        tokenizer.save_pretrained(tmp)
        tmp.replace(target)
    return AutoTokenizer.from_pretrained(target)


def _tiny_config(tokenizer: Any, **extra: Any) -> Any:
    from transformers import Qwen2Config

    return Qwen2Config(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **TINY,
        **extra,
    )


def causal_lm(spec: str, seed: int = 0) -> tuple[Any, Any]:
    """(model, tokenizer) of a causal language model, fp32, for training."""
    _require()
    import torch
    from transformers import AutoModelForCausalLM, Qwen2ForCausalLM

    tokenizer = tokenizer_for(spec)
    if spec == "tiny":
        torch.manual_seed(seed)
        return Qwen2ForCausalLM(_tiny_config(tokenizer)), tokenizer
    return AutoModelForCausalLM.from_pretrained(hf_dir(spec), dtype=torch.float32), tokenizer


def token_classifier(spec: str, seed: int = 0) -> tuple[Any, Any]:
    """(model, tokenizer) of a two-label token classifier on the spec's transformer: the head is
    new (seeded) unless the folder is one `ponder train prm` saved."""
    _require()
    import torch
    from transformers import AutoModelForTokenClassification, Qwen2ForTokenClassification

    tokenizer = tokenizer_for(spec)
    torch.manual_seed(seed)
    if spec == "tiny":
        return Qwen2ForTokenClassification(_tiny_config(tokenizer, num_labels=2)), tokenizer  # type: ignore[no-untyped-call]
    model = AutoModelForTokenClassification.from_pretrained(hf_dir(spec), num_labels=2, dtype=torch.float32)
    return model, tokenizer
