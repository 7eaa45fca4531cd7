"""Posture: what the stored traffic says about the API's (and its logs') security."""

from apisight.posture.log_quality import LogQualityReport, assess_logs

__all__ = ["LogQualityReport", "assess_logs"]
