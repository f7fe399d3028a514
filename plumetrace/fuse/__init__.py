"""Fusion of many surveys' evidence into persistent (possibly intermittent) sites."""

from plumetrace.fuse.sites import FusedSite, SiteFuser, match_sites, rank_sites

__all__ = ["FusedSite", "SiteFuser", "match_sites", "rank_sites"]
