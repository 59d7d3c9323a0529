"""The options of ``ugst sft`` and ``ugst grpo`` come from ``SFTOptions`` and ``GRPOOptions`` (offline, no model)."""

from __future__ import annotations

import dataclasses
import inspect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Optional

import pytest
import typer
from typer.testing import CliRunner

from ugst_dspy.cli import dataclass_options as helper
from ugst_dspy.cli.app import app, main
from ugst_dspy.cli.dataclass_options import cli_fields, cli_type, dataclass_options
from ugst_dspy.optimizers.grpo import GRPOOptions
from ugst_dspy.optimizers.options import TrainingOptions
from ugst_dspy.optimizers.sft import SFTOptions

COMMANDS = {"sft": SFTOptions, "grpo": GRPOOptions}


def normalized(text: str) -> str:
    """``text`` without the help panels' borders, its whitespace collapsed (help text wraps in columns)."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def flags(f: dataclasses.Field[Any]) -> list[str]:
    """Every flag of field ``f`` on the command line (``--lora/--full`` is two)."""
    declared = f.metadata.get("flags", ("--" + f.name.replace("_", "-"),))
    return [flag for declaration in declared for flag in declaration.split("/")]


def click_params(command: str) -> dict[str, Any]:
    """The click parameters of ``ugst COMMAND`` by name."""
    return {p.name: p for p in typer.main.get_command(app).commands[command].params}  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_field_is_in_the_help_with_its_text(command):
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "300"}, terminal_width=300)
    assert result.exit_code == 0, result.output
    text = normalized(result.output)
    for f in cli_fields(COMMANDS[command]):
        assert normalized(f.metadata["help"]) in text, f.name
        assert all(flag in text for flag in flags(f)), f.name
    assert "--save-total-limit" not in text and "--logging-steps" not in text  # off the command line, as before
    assert "--seed" in text  # the run configuration's seed, not the dataclass field


@pytest.mark.parametrize(("command", "expected"), [
    ("sft", {"--out", "-o", "--base-model", "--lora", "--full", "--lora-r", "--lora-alpha", "--batch-size",
             "--grad-accum", "--lr", "--epochs", "--max-steps", "--max-length", "--save-steps", "--resume",
             "--restart"}),
    ("grpo", {"--out", "-o", "--base-model", "--lora", "--full", "--lora-r", "--lora-alpha", "--batch-size",
              "--rollouts", "--grad-accum", "--lr", "--max-steps", "--max-completion-length", "--token-budget",
              "--temperature", "--beta", "--use-vllm", "--vllm-server-url", "--save-steps", "--log-completions",
              "--resume", "--restart"}),
])
def test_the_training_flags_are_the_ones_of_before(command, expected):
    generated = {f.name for f in cli_fields(COMMANDS[command])}
    found = {flag for name, p in click_params(command).items() if name in generated
             for flag in (*p.opts, *p.secondary_opts)}
    assert found == expected


@pytest.mark.parametrize("command", COMMANDS)
def test_the_dataclass_defaults_and_bounds_are_the_command_line_ones(command):
    params = click_params(command)
    for f in cli_fields(COMMANDS[command]):
        param = params[f.name]
        assert param.required is (f.default is dataclasses.MISSING), f.name
        if not param.required:
            assert param.default == f.default, f.name
        assert param.min == f.metadata.get("min"), f.name
    assert params["output_dir"].type_descriptor.annotation is Path  # --out parses a Path, as before


def test_grpo_redeclares_what_differs_from_sft():
    sft, grpo = SFTOptions(output_dir="x"), GRPOOptions(output_dir="x")
    assert (sft.batch_size, sft.learning_rate, sft.max_steps, sft.save_steps) == (32, 1e-6, -1, 100)
    assert (grpo.batch_size, grpo.learning_rate, grpo.max_steps, grpo.save_steps) == (16, 5e-6, 350, 50)
    assert grpo.micro_batches == 16 and GRPOOptions(output_dir="x", grad_accum=4).micro_batches == 4
    by_name = {f.name: f for f in dataclasses.fields(GRPOOptions)}
    assert by_name["max_steps"].metadata["min"] == 1 and by_name["learning_rate"].metadata["flags"] == ("--lr",)
    assert {f.name for f in dataclasses.fields(TrainingOptions)} <= {f.name for f in dataclasses.fields(SFTOptions)}
    with pytest.raises(TypeError):
        SFTOptions("x")  # type: ignore[misc]  # keyword-only


@pytest.fixture
def built(monkeypatch) -> list[Any]:
    """The options instances the commands build (each command then stops: its data file is missing)."""
    seen: list[Any] = []
    build = helper.build_options

    def spy(cls: type, values: dict[str, Any]) -> Any:
        seen.append(build(cls, values))
        return seen[-1]

    monkeypatch.setattr(helper, "build_options", spy)
    return seen


def test_sft_builds_its_options_from_the_flags(tmp_path, built, capsys):
    args = ["sft", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "out"), "--lr", "0.001", "--batch-size", "4",
            "--grad-accum", "2", "--lora", "--lora-r", "4", "--epochs", "1.5", "--restart"]
    assert main(args) == 2
    assert "no such conversation file" in capsys.readouterr().err
    assert built == [SFTOptions(output_dir=str(tmp_path / "out"), learning_rate=0.001, batch_size=4, grad_accum=2,
                                lora=True, lora_r=4, epochs=1.5, resume=False)]


def test_grpo_builds_its_options_from_the_flags(tmp_path, built, capsys):
    args = ["grpo", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "out"), "--rollouts", "4",
            "--grad-accum", "2", "--max-steps", "3", "--use-vllm", "server", "--vllm-server-url", "http://h:1",
            "--log-completions", "--full"]
    assert main(args) == 2
    capsys.readouterr()
    assert built == [GRPOOptions(output_dir=str(tmp_path / "out"), rollouts=4, grad_accum=2, max_steps=3,
                                 use_vllm="server", vllm_server_url="http://h:1", log_completions=True)]
    assert isinstance(built[0].output_dir, str)


@pytest.mark.parametrize("command", COMMANDS)
def test_the_bounds_are_enforced(command, tmp_path, capsys):
    for f in cli_fields(COMMANDS[command]):
        if "min" in f.metadata:
            below = f.metadata["min"] - (0.5 if isinstance(f.metadata["min"], float) else 1)
            assert main([command, str(tmp_path / "x.jsonl"), "--out", str(tmp_path / "o"), flags(f)[0], str(below)]) == 2
            err = capsys.readouterr().err
            assert "Invalid value" in err and flags(f)[0] in err, f.name
    assert not (tmp_path / "o").exists()


def test_the_batch_check_of_the_command_stays(tmp_path, capsys):
    data = tmp_path / "data.jsonl"
    data.write_text("")
    assert main(["sft", str(data), "--out", str(tmp_path / "o"), "--batch-size", "6", "--grad-accum", "4"]) == 2
    assert "not a multiple of --grad-accum" in capsys.readouterr().err


# ---- the helper on a toy dataclass and a toy app ----------------------------------------------------------------


@dataclass(kw_only=True)
class Toy:
    out: str = field(metadata={"help": "Where to write.", "flags": ("--out", "-o"), "type": Path})
    name: str | None = field(default=None, metadata={"help": "A name, if any."})
    fast: bool = field(default=False, metadata={"help": "Go fast or slow.", "flags": ("--fast/--slow",)})
    count: int = field(default=3, metadata={"help": "How many.", "min": 1})
    folder: Path = field(default=Path("here"), metadata={"help": "A folder."})
    tags: list[str] = field(default_factory=list, metadata={"help": "Tags.", "flags": ("--tag",)})
    secret: int = field(default=7, metadata={"help": "Not on the command line.", "cli": False})


calls: list[tuple[str, Toy, bool]] = []


@dataclass_options
def toy(
    word: Annotated[str, typer.Argument(help="A word.")],
    *,
    options: Toy,
    loud: Annotated[bool, typer.Option("--loud", help="Shout.")] = False,
) -> None:
    """Record the call."""
    calls.append((word, options, loud))


def run_toy(*args: str) -> Any:
    calls.clear()
    toy_app = typer.Typer()
    toy_app.command()(toy)
    return CliRunner().invoke(toy_app, list(args), env={"COLUMNS": "200"})


def test_the_toy_options_parse_into_the_dataclass():
    result = run_toy("hi", "-o", "out", "--name", "n", "--fast", "--count", "2", "--folder", "f", "--tag", "a",
                     "--tag", "b", "--loud")
    assert result.exit_code == 0, result.output
    assert calls == [("hi", Toy(out="out", name="n", fast=True, count=2, folder=Path("f"), tags=["a", "b"]), True)]
    assert isinstance(calls[0][1].out, str) and isinstance(calls[0][1].folder, Path)


def test_the_toy_defaults_are_the_dataclass_ones():
    assert run_toy("hi", "--out", "o", "--slow").exit_code == 0
    assert calls == [("hi", Toy(out="o"), False)]


@pytest.mark.parametrize(("args", "message"), [
    (("hi",), "Missing option '--out'"),
    (("hi", "--out", "o", "--count", "0"), "Invalid value for '--count'"),
    (("hi", "--out", "o", "--secret", "1"), "No such option"),
])
def test_the_toy_refuses_bad_flags(args, message):
    result = run_toy(*args)
    assert result.exit_code == 2 and message in normalized(result.output) and calls == []


def test_the_toy_help_and_signature():
    result = run_toy("--help")
    text = normalized(result.output)
    assert all(help_text in text for help_text in ("Where to write.", "A name, if any.", "Go fast or slow.", "Shout."))
    assert "--slow" in text and "--secret" not in text and "Record the call." in text
    assert list(inspect.signature(toy).parameters) == ["word", "out", "name", "fast", "count", "folder", "tags", "loud"]
    assert inspect.unwrap(toy).__name__ == "toy" and toy.__doc__ == "Record the call."


def test_optional_field_types_become_optional():
    assert cli_type(int | None) == Optional[int]  # noqa: UP045
    assert cli_type(Path) is Path


@dataclass
class Hidden:
    value: int = field(metadata={"help": "No default.", "cli": False})


@dataclass
class Mute:
    value: int = 0


def test_the_helper_refuses_what_it_cannot_build():
    def no_options(word: str) -> None: ...

    def clash(out: str, options: Toy) -> None: ...

    def hidden(options: Hidden) -> None: ...

    def mute(options: Mute) -> None: ...

    for command, message in ((no_options, "no 'options' parameter"), (clash, "clash"),
                             (hidden, "has no default"), (mute, "no help text")):
        with pytest.raises(TypeError, match=message):
            dataclass_options(command)
