"""Named errors of the bot. The CLI turns each into a message and an exit code."""

from __future__ import annotations


class AwardwatchError(Exception):
    """Something went wrong"""

    exit_code = 1

    def __str__(self) -> str:
        detail = super().__str__()
        return detail or (self.__doc__ or type(self).__name__).strip()


class ConfigError(AwardwatchError):
    """The configuration is not valid"""

    exit_code = 2


class UnknownSourceError(ConfigError):
    """No source of that name is configured"""


class PluginError(ConfigError):
    """A notifier plugin could not be loaded"""


class InvalidOffer(AwardwatchError):
    """An offer has an invalid value"""


class MalformedResponse(AwardwatchError):
    """A response could not be read as the source's format"""


class BlockedResponse(AwardwatchError):
    """The site refused the request or answered with a challenge page"""


class SheetsError(AwardwatchError):
    """The Google Sheet could not be written"""
