"""JSON through orjson (several times faster on intake's hot path), with the standard library's answer
wherever orjson refuses what `json` accepts: lone surrogates, NaN, integers beyond 64 bits."""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(data: bytes | str) -> Any:
    """Parse JSON exactly as `json.loads` does (and raise its errors, which name where the text broke)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def dumps(value: Any) -> str:
    """Serialize to JSON text that `json.loads` reads back as `value`."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError: surrogates, big integers, odd keys
        return json.dumps(value)
