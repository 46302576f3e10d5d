"""Options of the demo world, its summary, and the fixed names it uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

VARIANTS = ("default", "alt")

# External ids: a prefix and a zero-padded sequence number (1-based).
UNIT_ID = "demo-u-{}"
EMPLOYER_ID = "demo-e-{:06d}"
SLOT_ID = "demo-s-{:06d}"
PARTICIPANT_ID = "demo-p-{:06d}"
PLACEMENT_ID = "demo-pl-{:07d}"

# Known demo passwords, one per role, so the README can say "log in with ...".
PASSWORDS = {
    "system_admin": "demo-systemadmin",
    "unit_admin": "demo-enhetsadmin",
    "consultant": "demo-konsulent",
    "employer": "demo-arbetsgivare",
}
EMAIL_DOMAIN = "demo.example"
TOKEN_DAYS = 90
PARTICIPANTS_PER_CONSULTANT = 40

# Above this many participants the truth file holds no candidate pairs (too many to score).
CANDIDATE_PARTICIPANT_LIMIT = 200_000
# Also skip them when the estimated number of pairs would exceed this.
CANDIDATE_PAIR_LIMIT = 40_000_000
# Candidate pairs reach this far beyond the participant's max commute.
CANDIDATE_MARGIN_KM = 10.0
# Distance used when both places are only known by the same kommun (the service's default).
SAME_KOMMUN_KM = 5.0


@dataclass
class DemoConfig:
    participants: int = 1000
    employers: int = 300
    slots: int = 800
    months: int = 24
    units: int = 1
    seed: int = 42
    variant: str = "default"   # "default" or "alt": different hidden outcome weights
    today: date | None = None  # default date.today(); history ends here

    def validated(self) -> DemoConfig:
        """A copy with `today` filled in; raises ValueError for impossible values."""
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, not {self.variant!r}")
        for name in ("participants", "employers", "slots", "months", "units"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        return DemoConfig(self.participants, self.employers, self.slots, self.months,
                          self.units, self.seed, self.variant, self.today or date.today())


@dataclass
class DemoSummary:
    counts: dict[str, int]          # rows written per table
    logins: list[dict[str, str]]    # [{"role","email","password","token"}] one per role to try
    truth_path: Path | None
    seconds: float
    stats: dict[str, float] = field(default_factory=dict)  # rates of the generated history
