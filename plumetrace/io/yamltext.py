"""YAML text → Python objects, with errors that name the file and the line."""

from __future__ import annotations

import yaml

from plumetrace.exceptions import InputError


def safe_load(text: str, source) -> object:
    """``yaml.safe_load`` that turns a syntax error into an :class:`InputError` naming ``source`` and the line."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"is not valid YAML ({getattr(exc, 'problem', exc)})", source,
                         None if mark is None else mark.line + 1) from None
