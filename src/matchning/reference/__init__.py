"""Read-only reference data shipped inside the package (see data/SOURCES.md)."""

from matchning.reference.catalog import Municipality, Occupation, ReferenceData, get_reference

__all__ = ["Municipality", "Occupation", "ReferenceData", "get_reference"]
