"""The one exception tree of apisight.

Every error a user can cause derives from :class:`ApisightError`; the CLI prints its
message on one line and exits non-zero. Third-party errors are translated at the
boundary with ``raise ... from e`` so the message can name the fix.
"""


class ApisightError(Exception):
    """Base of every error apisight reports to a user."""


class ConfigError(ApisightError):
    """A setting is missing, malformed or out of range; the message names the key."""


class InputError(ApisightError):
    """An input cannot be read at all (missing file, unknown format)."""


class SpecError(ApisightError):
    """An OpenAPI document is invalid."""


class StoreError(ApisightError):
    """The data directory or catalog cannot be read or written."""


class SinkError(ApisightError):
    """An alert sink cannot be reached or refused the data."""
