"""Credentials out of what ponder stores and prints: URLs and model specs with secrets masked.

`redact_url` masks a URL's userinfo (`http://user:pw@host` → `http://***@host`) and every value of
its query string and fragment (`?api-key=SECRET` → `?api-key=***`; a bare item becomes `***`).
`redact_spec` does the same to the URL inside a model spec (`openai:MODEL@URL`, or any spec that
holds a `scheme://` URL) and keeps a trailing options group (`[timeout=60]`: names and numbers)
as it is. Both are pure, idempotent and never raise: a string that is not a URL comes back as is.
`url_secrets` lists what they mask, so that other text (a server's error body) can be scrubbed.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"
MIN_SECRET = 4  # shorter strings are not scrubbed from messages: they would garble every word

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
_OPTIONS = re.compile(
    r"\[\s*[A-Za-z_]\w*\s*=\s*[0-9.eE+\-]*\s*(?:,\s*[A-Za-z_]\w*\s*=\s*[0-9.eE+\-]*\s*)*\]$"
)


def redact_query(query: str, sep: str = "&") -> str:
    """A query string (without its `?`) with every value replaced by `***`."""
    items: list[str] = []
    for item in query.split(sep):
        if not item:
            items.append(item)
            continue
        name, eq, _ = item.partition("=")
        items.append(f"{name}={MASK}" if eq else MASK)
    return sep.join(items)


def redact_url(url: str) -> str:
    """`url` with its userinfo and its query (and fragment) values replaced by `***`."""
    if not isinstance(url, str):
        return url
    start = url.find("://")
    if start < 0:
        return url
    head, rest = url[: start + 3], url[start + 3 :]
    rest, hash_, fragment = rest.partition("#")
    rest, qmark, query = rest.partition("?")
    slash = rest.find("/")
    authority, path = (rest, "") if slash < 0 else (rest[:slash], rest[slash:])
    if "@" in authority:
        authority = MASK + "@" + authority.rpartition("@")[2]
    out = head + authority + path
    if qmark:
        out += "?" + redact_query(query)
    if hash_:
        out += "#" + redact_query(fragment)
    return out


def redact_spec(spec: str) -> str:
    """A model spec with the URL it holds redacted; specs without a URL are returned unchanged."""
    if not isinstance(spec, str):
        return spec
    options = _OPTIONS.search(spec)
    body, tail = (spec[: options.start()], options.group()) if options else (spec, "")
    if body.startswith("openai:") and "@" in body:
        model, _, url = body.partition("@")
        return f"{model}@{redact_url(url)}{tail}"
    found = _SCHEME.search(body)
    if found is None:
        return spec
    return body[: found.start()] + redact_url(body[found.start() :]) + tail


def url_secrets(url: str) -> tuple[str, ...]:
    """The strings of `url` that redaction masks (userinfo and its parts, query and fragment values,
    as written and percent-decoded), longest first, for scrubbing them from other text; strings
    shorter than MIN_SECRET are left out."""
    if not isinstance(url, str) or "://" not in url:
        return ()
    rest = url.partition("://")[2]
    rest, _, fragment = rest.partition("#")
    rest, _, query = rest.partition("?")
    authority = rest.partition("/")[0]
    found: set[str] = set()
    if "@" in authority:
        userinfo = authority.rpartition("@")[0]
        found.update([userinfo, *userinfo.split(":", 1)])
    for item in (query.split("&") if query else []) + (fragment.split("&") if fragment else []):
        found.add(item.partition("=")[2] if "=" in item else item)
    found |= {unquote(s) for s in found}
    return tuple(sorted((s for s in found if len(s) >= MIN_SECRET and s != MASK), key=len, reverse=True))
