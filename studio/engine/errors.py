"""Errors that carry a message meant for the user, not a developer."""


class UserError(Exception):
    """A problem the user can fix; str(e) is one clear line shown as-is."""


class CheckpointError(UserError):
    """A model or checkpoint file that cannot be loaded safely (corrupt, hostile, incompatible)."""


class Cancelled(Exception):
    """The user cancelled a long operation (preparing images, exporting, translating) through its
    `should_cancel()` callback. Not an error: callers catch it by type and say "cancelled"."""
