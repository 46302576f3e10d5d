"""matchning: placement matching for Swedish municipal labour-market units."""

__version__ = "0.1.0"
