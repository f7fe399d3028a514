"""plumetrace: find hidden emission sources from airborne gas-sensor surveys."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("plumetrace")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
