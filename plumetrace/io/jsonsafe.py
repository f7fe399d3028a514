"""JSON-safe copies of results: one rule for every JSON plumetrace writes (CLI output, exports, sidecars)."""

from __future__ import annotations

import math


def json_safe(value):
    """JSON-safe copy: non-finite floats become null, numpy scalars and arrays plain Python, keys strings."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return json_safe(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
