"""`matchning import DIR`: CSV files from a source system, validated exactly as the services
validate, one transaction per file."""

from matchning.importer.report import FileReport, ImportReport, RowError
from matchning.importer.runner import import_directory

__all__ = ["FileReport", "ImportReport", "RowError", "import_directory"]
