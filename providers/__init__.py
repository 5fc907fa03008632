"""hostkit's own provider adapters, one folder each, found through entry points.

The core (``hostkit``) never imports this package by name: each adapter is
registered in the ``hostkit.providers`` entry-point group in pyproject.toml,
exactly as a third-party plugin would be.
"""
