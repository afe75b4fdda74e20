"""A tiny domain, used only by tests/integration/test_example_domain.py: it shows that a new
domain is its package plus one line in the plugin list (docs/adding-a-domain.md).

Notes left on a board: a table, a page with a form, a JSON read, an event the domain reacts to,
a nightly job, a `merito example` command and its own messages in Spanish and English.
"""
