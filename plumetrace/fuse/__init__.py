"""Persistent sites across surveys and platforms (:class:`SiteFuser`)."""

from plumetrace.fuse.sites import FusedSite, SiteFuser, SurveyEvidence, rank_sites

__all__ = ["FusedSite", "SiteFuser", "SurveyEvidence", "rank_sites"]
