"""xborder: a faithful, stateful implementation of Mastercard Cross-Border Services' Cancel Payment API."""

__version__ = "0.1.0"

__all__ = ["__version__"]
