"""Merit-based vacancy competitions (issue #5)."""
