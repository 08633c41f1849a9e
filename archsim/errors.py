"""The project's error types and the command line's exit codes (the one owner of both).

In:  nothing (definitions only; importing this module imports nothing else of archsim).
Out: the error hierarchy, the exit codes of ``archsim <command>``, and small helpers that make
     messages safe to print: :func:`short` (a bounded quote of a user value) and
     :func:`error_line` (the one line the command line prints for an error).

Every error a user can cause with an input file, a value or an option is an
:class:`ArchsimError` (a ``ValueError``, so callers that catch ``ValueError`` keep working) whose
message names the file, the field and the value.  The command line turns it into one line on
stderr, ``archsim <command>: error: <message>``, and exit code :data:`EXIT_USAGE`; anything else
that escapes a command is a bug and keeps its traceback (:data:`EXIT_INTERNAL`).  The classes are
re-exported by the modules that raise them (``archsim.design.arch.ConfigError``,
``archsim.graph.ir.WorkloadError``, ...), so either import works.  Exit codes: docs/cli.md.
"""

from __future__ import annotations

import signal
from typing import Any

__all__ = [
    "EXIT_CODES",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_MISMATCH",
    "EXIT_OK",
    "EXIT_SWEEP_FAILED",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "ArchsimError",
    "BatchError",
    "ConfigError",
    "CostError",
    "InputFileError",
    "Interrupted",
    "MappingError",
    "OutputError",
    "RunFolderError",
    "SchemaError",
    "TopologyError",
    "UsageError",
    "WorkloadError",
    "error_line",
    "exit_code_of_signal",
    "short",
]

# ---- exit codes of ``archsim <command>`` (docs/cli.md) --------------------------------------
EXIT_OK = 0  # the command did what it was asked
EXIT_INTERNAL = 1  # a bug in archsim: a traceback is printed
EXIT_USAGE = 2  # a usage or input error: one line naming the file, field or value
EXIT_MISMATCH = 3  # a functional run whose exact PE kind disagrees with the reference
EXIT_SWEEP_FAILED = 4  # a sweep finished but some of its points failed (see sweep.csv)
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130: Ctrl-C
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143: SIGTERM (timeout, CI, job schedulers)

EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_INTERNAL: "internal error (a bug: the traceback is printed)",
    EXIT_USAGE: "usage or input error (one line naming the file, field or value)",
    EXIT_MISMATCH: "functional mismatch: an exact PE kind disagrees with the reference",
    EXIT_SWEEP_FAILED: "sweep finished with failed points (listed in sweep.csv)",
    EXIT_INTERRUPTED: "interrupted (SIGINT, Ctrl-C)",
    EXIT_TERMINATED: "terminated (SIGTERM)",
}


def exit_code_of_signal(signum: int) -> int:
    """The shell's convention: 128 + the signal number."""
    return 128 + int(signum)


# ---- errors ---------------------------------------------------------------------------------
class ArchsimError(ValueError):
    """Base of every error a user's input or options can cause (exit code 2 on the CLI)."""


class ConfigError(ArchsimError):
    """An invalid configuration (design point, sweep file): names the field and the file."""


class CostError(ConfigError):
    """An invalid or incomplete cost table: names the field / action and the file."""


class SchemaError(ArchsimError):
    """Invalid data for a schema; ``issues`` lists ``(path, message)`` pairs."""

    issues: list


class WorkloadError(ArchsimError):
    """A workload graph or saved workload folder breaks docs/workload_graph.md."""


class TopologyError(WorkloadError):
    """A malformed SCALE-Sim topology CSV (names file, line and column)."""


class BatchError(WorkloadError):
    """A batch size the workload cannot be run at."""


class MappingError(ArchsimError):
    """An invalid mapping spec or dataflow, or a workload that cannot be mapped on the design
    point (names the layer, buffer or file)."""


class UsageError(ArchsimError):
    """Command-line options that are invalid, out of range or do not apply to the input."""


class InputFileError(ArchsimError):
    """An input file that cannot be read as what it should be (too big, not UTF-8, corrupt)."""


class OutputError(ArchsimError):
    """An output location that cannot be written (checked before any work starts)."""


class RunFolderError(ArchsimError):
    """A run folder that is in use by another run, or incomplete."""


class Interrupted(BaseException):
    """Raised in the main thread by the SIGTERM handler of the command line (like Ctrl-C's
    ``KeyboardInterrupt``), so ``finally`` blocks run and partial output is cleaned up."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(f"terminated by signal {int(signum)}")
        self.signum = int(signum)


# ---- messages -------------------------------------------------------------------------------
SHORT_LIMIT = 60  # characters of a user value quoted in a message
LINE_LIMIT = 1000  # characters of the one error line the command line prints


def short(value: Any, limit: int = SHORT_LIMIT) -> str:
    """``repr(value)`` cut to ``limit`` characters (``...`` and the full length appended), so a
    message never quotes a huge value.  Containers are not expanded beyond the limit."""
    if isinstance(value, (str, bytes)) and len(value) > 4 * limit:
        text = repr(value[: 2 * limit])
    elif isinstance(value, (list, tuple, dict, set)) and len(value) > limit:
        text = f"<{type(value).__name__} of {len(value)} items>"
    else:
        try:
            text = repr(value)
        except Exception:  # noqa: BLE001 -- a hostile __repr__ must not hide the real error
            text = f"<{type(value).__name__}>"
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def error_line(command: str, exc: BaseException | str) -> str:
    """``archsim <command>: error: <message>`` on one line of at most ~:data:`LINE_LIMIT`
    characters (newlines and runs of spaces collapsed)."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
        if exc.filename2 is not None:
            text += f" (and {exc.filename2})"
    else:
        text = str(exc)
    text = " ".join(text.split()) or type(exc).__name__
    if len(text) > LINE_LIMIT:
        text = text[:LINE_LIMIT] + f" ... ({len(text) - LINE_LIMIT} more characters)"
    return f"archsim {command}: error: {text}"
