"""Errors shared by every layer.

Every error a user can cause is a :class:`PlateauError` (also a ``ValueError``) whose message
names the file, row or field at fault.  The CLI prints it as one line; the web API turns it
into a 422 response.
"""


class PlateauError(ValueError):
    """A problem with the user's input or data, explained in its message."""


class EvidenceError(PlateauError):
    """Invalid evidence: the message names the file, trial and field."""
