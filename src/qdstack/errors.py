"""Exceptions that the command line turns into one ``error:`` line.

Everything a user can get wrong (a file that cannot be read, an option that
makes no sense, a fit that cannot be made) raises a subclass of
:class:`QdstackError`.  The CLI prints ``error: <source>: <message>`` and exits
with status 2; any other exception is a bug and exits with status 1.
"""

from __future__ import annotations

import os

__all__ = [
    "QdstackError",
    "InputError",
    "FileFormatError",
    "OptionError",
    "FitError",
    "QdstackWarning",
    "FitWarning",
]


class QdstackError(Exception):
    """Base class of every error qdstack reports to a user.

    Parameters
    ----------
    message : str
        What went wrong, written for the user (no traceback needed to act on it).
    source : str or os.PathLike, optional
        The file, option or parameter the error is about; printed before the message.
    """

    def __init__(self, message: str, source: str | os.PathLike | None = None):
        self.message = str(message)
        self.source = None if source is None else os.fspath(source)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.source:
            return f"{self.source}: {self.message}"
        return self.message

    def __reduce__(self):
        # pickled with its message and source apart (sent back from a worker process), not
        # as the joined text, which would come back as a message without a source
        return (type(self), (self.message, self.source), self.__dict__)

    def with_source(self, source: str | os.PathLike) -> "QdstackError":
        """Return a copy of this error attributed to ``source`` (keeps an existing one)."""
        if self.source:
            return self
        return type(self)(self.message, source)


class InputError(QdstackError, ValueError):
    """Bad input: values that cannot be used (wrong shape, sign, range, units)."""


class FileFormatError(InputError):
    """A file that cannot be read or does not hold what it should."""


class OptionError(InputError):
    """An option or combination of options that is impossible."""


class FitError(QdstackError, RuntimeError):
    """A fit that cannot be made (too few points, no peak, no convergence at all)."""


class QdstackWarning(UserWarning):
    """Something the user should know about a result that is still returned."""


class FitWarning(QdstackWarning):
    """A fit finished but a result is doubtful (correlation, bounds, convergence)."""
