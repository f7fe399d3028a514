"""Domain exceptions. Each carries the data a user needs to find and fix the problem."""

from __future__ import annotations


class PlumetraceError(Exception):
    """Base class of plumetrace's own errors."""


class InputError(PlumetraceError, ValueError):
    """Input that breaks a format contract: names the file, the row or record, the column and the problem.

    Parameters
    ----------
    message : str
        What is wrong and what was expected.
    path : str, optional
        The file.
    row : int, optional
        1-based line number in the file (the header is line 1), or record number for binary logs.
    column : str, optional
        Column or field name.
    """

    def __init__(self, message: str, path: str | None = None, row: int | None = None,
                 column: str | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.row = row
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.path:
            where.append(self.path)
        if self.row is not None:
            where.append(f"line {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        return (": ".join([", ".join(where), self.message]) if where else self.message)


class PlanError(InputError):
    """A flight-planning request that no plan can satisfy: names the limit that cannot be met.

    ``limit`` is the option or constraint at fault (``--authorized``, ``--no-fly``, ``--alt-max-m``,
    ``--budget-min``, ``--endurance-min``, ``--min-rate-g-s``, …); the message says what was asked and what the
    limit allows. An :class:`InputError`: the command line exits 2 with it.
    """

    def __init__(self, message: str, limit: str, path: str | None = None):
        self.limit = limit
        super().__init__(f"{message} [limit: {limit}]", path, None, None)


class LeadError(PlumetraceError):
    """A lead step that is refused.

    ``status`` says how (404 not visible, 403 not allowed, 409 wrong state, 422 bad value), ``message`` why. The
    API answers with that status; the command line exits 2.
    """

    def __init__(self, status: int, message: str):
        self.status = int(status)
        self.message = message
        super().__init__(message)
