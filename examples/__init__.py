"""Example models and scripts shipped with hostkit (importable as ``hostkit_examples``)."""
