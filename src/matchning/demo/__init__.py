"""A seeded demo world: units, employers, slots, participants and months of placement
history with outcomes, on the real reference data. See docs/demo.md."""

from matchning.demo.config import DemoConfig, DemoSummary
from matchning.demo.seed import database_is_empty, seed_demo_world
from matchning.demo.truth import load_truth

__all__ = ["DemoConfig", "DemoSummary", "database_is_empty", "load_truth", "seed_demo_world"]
