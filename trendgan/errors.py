"""The only exceptions trendgan raises on purpose.

Each one carries a message that says what happened and what to do; the CLI prints it on one line and exits 1.
"""


class TrendganError(Exception):
    """Base class: a problem the user can fix (bad input, missing weights, a locked store...)."""


class StoreError(TrendganError):
    """The store folder is missing, unreadable, or not a trendgan store."""


class StoreLockedError(StoreError):
    """Another trendgan run is writing to the same store."""


class StoreDamagedError(StoreError):
    """A file in the store is damaged (truncated, overwritten); `trendgan check --repair` deals with it."""


class DiskFullError(StoreError):
    """The disk (or quota) holding the store ran out of space; finished work is kept."""


class ConfigError(TrendganError):
    """A settings file or override is malformed or names an unknown setting."""


class IngestError(TrendganError):
    """Input folders or manifests cannot be read."""


class NoImagesError(TrendganError):
    """A stage needs images (or vectors, styles...) that the store does not hold yet."""


class SimulateError(TrendganError):
    """A simulation's output folder cannot be used, or its labelled set cannot supply what the scenario asks for."""


class EncoderError(TrendganError):
    """An encoder key is unknown or its weights cannot be loaded."""


class WeightsUnavailableError(EncoderError):
    """Pretrained weights are neither cached nor reachable (e.g. offline)."""


class StageNotRunError(TrendganError):
    """A stage's input comes from an earlier stage that has not been run on this store."""


class ForecastError(TrendganError):
    """Series are malformed or too short to forecast."""


class GanError(TrendganError):
    """A GAN config, checkpoint or condition is invalid."""


class DesignError(TrendganError):
    """A restyle or design request cannot be honoured (missing style, unreadable image, no text tower...)."""


class MissingExtraError(TrendganError):
    """An optional dependency is not installed; the message names the extra to install."""
