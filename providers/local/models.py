"""Loading the model a local deployment serves.

Three forms of ``spec.model``:

* ``"package.module:callable"`` - an importable Python callable (or an object with
  ``predict``) that takes the request's JSON input and returns JSON output;
* ``"path/to/file.py:callable"`` - the same, from a file;
* ``"path/to/model.joblib"`` (or ``.pkl``/``.pickle``) - a scikit-learn estimator
  saved with joblib; its input is ``{"instances": [[...], ...]}`` or a list of rows
  and its output ``{"predictions": [...]}``.

An LLM behind an OpenAI-compatible server is not loaded here: the server starts
the user's command and proxies to it (``options.command``).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["ESTIMATOR_SUFFIXES", "Predictor", "describe_model_error", "load_predictor"]

Predictor = Callable[[Any], Any]
ESTIMATOR_SUFFIXES = (".joblib", ".pkl", ".pickle")


class ModelLoadError(Exception):
    """The model named in the spec could not be loaded (message says why)."""


def _load_module_from_file(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"hostkit_local_model_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ModelLoadError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _as_predictor(obj: Any, label: str) -> Predictor:
    """A plain function as it is; a class is instantiated; an object's ``predict`` wins."""
    if inspect.isfunction(obj) or inspect.ismethod(obj) or inspect.isbuiltin(obj):
        return obj  # type: ignore[no-any-return]
    if isinstance(obj, type):
        obj = obj()
    if callable(getattr(obj, "predict", None)):
        return obj.predict  # type: ignore[no-any-return]
    if callable(obj):
        return obj  # type: ignore[no-any-return]
    raise ModelLoadError(f"{label} is neither callable nor has a predict() method")


def _estimator_predictor(path: Path) -> Predictor:
    try:
        import joblib
    except ImportError:
        raise ModelLoadError(
            f'{path} needs joblib and scikit-learn: pip install "hostkit-ml[sklearn]"'
        ) from None
    estimator = joblib.load(path)

    def predict(payload: Any) -> Any:
        rows = payload.get("instances") if isinstance(payload, dict) else payload
        if not isinstance(rows, list):
            raise ValueError('expected {"instances": [[...], ...]} or a list of rows')
        result = estimator.predict(rows)
        return {"predictions": result.tolist() if hasattr(result, "tolist") else list(result)}

    return predict


def load_predictor(model: str, workdir: str | None = None) -> Predictor:
    """The callable that serves ``model`` (see module docs for the accepted forms)."""
    if workdir and workdir not in sys.path:
        sys.path.insert(0, workdir)
    base = Path(workdir) if workdir else Path.cwd()
    if model.endswith(ESTIMATOR_SUFFIXES):
        path = Path(model).expanduser()
        path = path if path.is_absolute() else base / path
        if not path.is_file():
            raise ModelLoadError(f"model file {path} does not exist")
        return _estimator_predictor(path)
    target, sep, attr = model.rpartition(":")
    if not sep or not target or not attr:
        raise ModelLoadError(
            f"model {model!r}: expected 'module:callable', 'file.py:callable' or a .joblib file"
        )
    if target.endswith(".py"):
        path = Path(target).expanduser()
        path = path if path.is_absolute() else base / path
        if not path.is_file():
            raise ModelLoadError(f"model file {path} does not exist")
        module = _load_module_from_file(path)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as error:
            raise ModelLoadError(f"cannot import {target!r}: {error}") from None
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ModelLoadError(f"{target!r} has no attribute {attr!r}") from None
    return _as_predictor(obj, model)


def describe_model_error(error: BaseException) -> str:
    if isinstance(error, ModelLoadError):
        return str(error)
    return f"{type(error).__name__}: {error}"
