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


def read_json_file(path, kind: str = "JSON"):
    """Parse a JSON file; every way it can fail is an :class:`InputError` naming the file (``kind``: what it is).

    Missing files, folders, bytes that are not UTF-8 JSON, nesting too deep to parse, and unreadable files each get
    their own message — one rule for the buildings, area and mission readers.
    """
    import json
    from pathlib import Path

    from plumetrace.exceptions import InputError

    path = Path(path)
    if path.is_dir():
        raise InputError(f"is a folder, not a {kind} file", path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("file not found", path) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"is not valid JSON ({exc})", path) from None
    except RecursionError:
        raise InputError(f"is not {kind}: its JSON is nested too deeply to read", path) from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or exc})", path) from None
