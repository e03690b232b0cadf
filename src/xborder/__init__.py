"""xborder: Mastercard Cross-Border Services' Cancel Payment API, self-hosted and stateful."""

__version__ = "0.1.0"

__all__ = ["__version__"]
