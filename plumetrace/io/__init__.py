"""Adapters between files and plumetrace's in-memory data (readers and writers)."""

from plumetrace.io.field_experiment import FieldExperiment, read_field_experiment

__all__ = ["FieldExperiment", "read_field_experiment"]
