"""awardwatch: finds promotional award fares and tells people about them."""

__version__ = "0.1.0"
