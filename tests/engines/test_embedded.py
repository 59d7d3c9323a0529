"""The model cache: where it lives, atomic conversion, listing; and one real call on the embedded model (slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import pytest

from ugst_dspy.engines import (
    EMBEDDED_NAME,
    cache_dir,
    embedded,
    embedded_model_dir,
    is_model_dir,
    list_models,
    prepare_embedded_model,
    prepare_gguf_model,
)
from ugst_dspy.errors import UgstError


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("UGST_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def fake_gguf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """A GGUF file whose 'conversion' writes two small files; returns the folders converted into."""
    calls: list[Path] = []

    def convert(gguf: Path, out: Path) -> None:
        calls.append(out)
        (out / "config.json").write_text("{}")
        (out / "model.safetensors").write_bytes(b"x" * 100)

    monkeypatch.setattr(embedded, "_convert_gguf", convert)
    gguf = tmp_path / "Some Model.Q4.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setattr(embedded, "embedded_gguf_path", lambda: gguf)
    return calls


def test_cache_dir_follows_the_environment(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cache_dir() == cache
    assert embedded_model_dir(prepare=False) == cache / "models" / EMBEDDED_NAME
    monkeypatch.delenv("UGST_CACHE_DIR")
    assert cache_dir() == Path.home() / ".cache" / "ugst-dspy"


def test_conversion_is_atomic_and_happens_once(
    cache: Path, fake_gguf: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert list_models() == []
    folder = embedded_model_dir()
    assert folder == cache / "models" / EMBEDDED_NAME and is_model_dir(folder)
    assert (folder / "ugst-model.json").is_file()
    assert len(capsys.readouterr().err.strip().splitlines()) == 1  # one progress line
    assert embedded_model_dir() == folder and prepare_embedded_model() == folder
    assert len(fake_gguf) == 1  # converted once
    assert [m["name"] for m in list_models()] == [EMBEDDED_NAME]
    assert list_models()[0]["size"] > 100 and list_models()[0]["complete"]
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left
    prepare_embedded_model(force=True)
    assert len(fake_gguf) == 2 and is_model_dir(folder)
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]


def test_a_failed_conversion_leaves_nothing(
    cache: Path, fake_gguf: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(gguf: Path, out: Path) -> None:
        (out / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(embedded, "_convert_gguf", broken)
    with pytest.raises(KeyboardInterrupt):
        prepare_embedded_model()
    assert list((cache / "models").iterdir()) == []


def test_abandoned_partial_folders_are_removed(cache: Path, fake_gguf: list[Path]) -> None:
    models = cache / "models"
    models.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    abandoned = models / f".partial-{EMBEDDED_NAME}-{pid}-abc123"
    abandoned.mkdir()
    in_progress = models / f".partial-other-{os.getpid()}-xyz"  # this very process: still running
    in_progress.mkdir()
    prepare_embedded_model()
    assert not abandoned.exists() and in_progress.exists()


def test_other_gguf_files_get_their_own_folder(cache: Path, fake_gguf: list[Path], tmp_path: Path) -> None:
    folder = prepare_gguf_model(tmp_path / "Some Model.Q4.gguf")
    assert folder.parent == cache / "models" and folder.name.startswith("some-model.q4-")
    with pytest.raises(UgstError, match="no GGUF file"):
        prepare_gguf_model(tmp_path / "missing.gguf")


def test_the_embedded_gguf_is_installed() -> None:
    try:
        path = embedded.embedded_gguf_path()
    except UgstError as err:
        pytest.skip(str(err))
    assert path.name == embedded.GGUF_FILE and path.stat().st_size > 50_000_000


@pytest.mark.slow
def test_one_constrained_call_on_the_embedded_model() -> None:
    """Converts the embedded model into the user's cache if needed (~30 s once), then one JSON call."""
    for module in ("torch", "transformers", "outlines"):
        pytest.importorskip(module)
    import dspy
    from jsonschema import Draft202012Validator

    from ugst_dspy.engines import local_lm

    try:
        folder = embedded_model_dir()
    except UgstError as err:
        pytest.skip(str(err))

    class Judge(dspy.Signature):
        """Decide whether the user's task objective was completed in the conversation."""

        objective: str = dspy.InputField()
        conversation: str = dspy.InputField()
        status: Literal["INCOMPLETE", "ATTEMPTED", "COMPLETE"] = dspy.OutputField()
        reason: str = dspy.OutputField()

    lm = local_lm(folder, max_string_length=120, max_tokens=128, cache=False)
    seen: list[tuple[Any, str]] = []
    complete = lm.engine.complete

    def recording(request: Any) -> Any:
        response = complete(request)
        seen.append((request.config.response_format, response.message.parts[0].text))
        return response

    lm.engine.complete = recording
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        result = dspy.Predict(Judge)(
            objective="Exchange the mechanical keyboard in order #W2378156.",
            conversation="User: I want to exchange my keyboard.\nAgent: Done, the exchange is confirmed.",
        )
    assert result.status in ("INCOMPLETE", "ATTEMPTED", "COMPLETE") and isinstance(result.reason, str)
    [(response_format, raw)] = seen
    Draft202012Validator(lm.engine.bounded_schema(response_format["schema"])).validate(json.loads(raw))
    assert lm.engine.usage.snapshot()["calls"] == 1
