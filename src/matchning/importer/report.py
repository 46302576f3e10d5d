"""What an import did, file by file: counts, and every problem with its line and column."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RowError:
    """One problem. `line` counts the header as line 1; 0 means the whole file."""

    line: int
    column: str
    message: str  # Swedish, for a consultant


@dataclass
class FileReport:
    file: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    stored: bool = False
    errors: list[RowError] = field(default_factory=list)


@dataclass
class ImportReport:
    files: list[FileReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when there was something to import and no file reported a problem."""
        return bool(self.files) and all(not f.errors for f in self.files)
