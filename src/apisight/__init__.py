"""apisight: self-hosted API security analytics over the traffic records you already keep."""

__version__ = "0.1.0"
