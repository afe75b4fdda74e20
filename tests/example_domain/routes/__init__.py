"""The example domain's routes, by audience (one: everyone)."""
