"""Normalisation: raw reader frames -> canonical events (see ``apisight.events``)."""

from apisight.normalize.stage import Normalizer

__all__ = ["Normalizer"]
