"""What `ponder serve` serves and within which limits: the default backend, the other backends
clients may name, short aliases for routes, what a reply's content is, the API keys and the
limits. Read from a YAML file (`--config`) and the command line's flags, which win.

    model: local                      # the default backend (a model spec)
    backends: ["openai:gpt-4o-mini@https://api.openai.com/v1"]
    aliases:
      sc8: self-consistency[k=8]@local
      draft: chain-of-draft
    reply: answer                     # or chain: the winning chain
    limits: {concurrency: 8, max_tokens: 4096, max_samples: 32, timeout_s: 600}
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ponder.errors import ConfigError


class Limits(BaseModel):
    """Per-request and server-wide limits. `concurrency`: requests in flight at once (more get
    429 with Retry-After `retry_after_s`); `max_body_bytes`: the largest request body;
    `max_tokens`: the most tokens one call may generate; `max_samples`: the most samples one
    request may draw at once (`n`, a strategy's k, or a beam's width × expand); `timeout_s`: wall
    time of one request."""

    model_config = ConfigDict(extra="forbid")
    concurrency: int = Field(default=8, ge=1, le=4096)
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    max_tokens: int = Field(default=4096, ge=1)
    max_samples: int = Field(default=32, ge=1)
    timeout_s: float = Field(default=600.0, gt=0)
    retry_after_s: int = Field(default=1, ge=1)


class ServeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str | None = None
    backends: list[str] = Field(default_factory=list)
    aliases: dict[str, str] = Field(default_factory=dict)
    reply: Literal["answer", "chain"] = "answer"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    api_keys: list[str] = Field(default_factory=list)
    limits: Limits = Field(default_factory=Limits)
    cache: bool = False


def load_config(path: Path | None) -> ServeConfig:
    """The config in the YAML file at `path` (None: the defaults). Errors name the file and field."""
    if path is None:
        return ServeConfig()
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it ({e.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: not valid YAML") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    try:
        return ServeConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{path}: {field}: {err['msg']}") from None


def read_keys(path: Path) -> list[str]:
    """API keys from a file, one per line; blank lines and `#` comments skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the keys file is not UTF-8 text") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the keys file ({e.strerror})") from None
    keys = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not keys:
        raise ConfigError(f"{path}: the keys file holds no keys")
    short = [i + 1 for i, k in enumerate(keys) if len(k) < 16]
    if short:
        raise ConfigError(f"{path}: keys must be at least 16 characters (key {short[0]} is shorter)")
    return keys


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(config: ServeConfig) -> None:
    """Binding anywhere but loopback needs API keys."""
    if not is_loopback(config.host) and not config.api_keys:
        raise ConfigError(
            f"--host {config.host} is not loopback: give API keys (--api-key KEY or --api-keys-file FILE)"
        )
