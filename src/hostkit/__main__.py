"""``python -m hostkit``: the same as the ``hostkit`` command."""

from hostkit.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
