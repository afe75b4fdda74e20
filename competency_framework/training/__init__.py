"""Training plans and the training catalogue (issue #7).

The plugin (`plugin.py`) names its routers, tables, event subscriptions (`events.py`), the
nightly job (`jobs.py`) and the `merito training` commands (`cli.py`); the core loads them.
"""
