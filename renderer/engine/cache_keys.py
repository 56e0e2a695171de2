"""The renderer's one way to make cache keys: canonical JSON, hashed with SHA-256.

Every key the build keeps between runs (page keys, conversion keys, content and code digests,
record shard names) is the SHA-256 of bytes, and structured values become bytes as canonical
JSON (sorted keys, no spaces, UTF-8): the same value gives the same key in every process and
Python version, unlike ``repr()``. Hashes fixed by others are not made here: S3's MD5 ETags,
GrowthBook's FNV-1a bucketing, Stripe's HMAC signatures.

This module imports nothing heavy, as :mod:`renderer.engine.fingerprint` needs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from enum import Enum
from pathlib import PurePath
from typing import Any

#: Make a hash object to feed in parts (``.update(bytes)``); :func:`digest` for whole values.
new_hash = hashlib.sha256


def canonical_json(value: Any) -> str:
    """``value`` as canonical JSON: sorted keys, no spaces, text as it is.

    Tuples are lists; dates are ISO text; sets are sorted lists; dataclasses are objects of the
    fields they show in their repr (a field left out of repr does not change what it keys).
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    )


def digest(*parts: Any) -> str:
    """The key of ``parts``: SHA-256 of their canonical JSON."""
    return new_hash(canonical_json(parts).encode()).hexdigest()


def digest_bytes(data: bytes) -> str:
    """The key of some bytes (a file's content)."""
    return new_hash(data).hexdigest()


def digest_text(text: str) -> str:
    return new_hash(text.encode()).hexdigest()


def _plain(value: Any) -> Any:
    """What JSON cannot say by itself, said in JSON terms (see :func:`canonical_json`)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.repr}
        return {"__type__": type(value).__qualname__, **fields}
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=canonical_json)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"no canonical JSON for {type(value).__name__}: {value!r}")
