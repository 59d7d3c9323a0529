"""Typer options made from a dataclass's fields, the way TRL's ``HfArgumentParser`` makes a CLI of its configs.

A field's ``metadata`` says how it shows on the command line: ``help`` (its help text), ``flags`` (the option
declarations, e.g. ``("--out", "-o")`` or ``("--lora/--full",)``; default ``--field-name``), ``min`` (the least
value accepted), ``type`` (the type the command line parses when not the field's, e.g. ``Path`` for a ``str``
field: the value is converted back with the field's type) and ``cli`` (``False``: not an option; the field
keeps its default).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Optional, TypeVar

import typer

OPTIONS = "options"
"""The parameter of a command that receives the dataclass instance."""

R = TypeVar("R")


def cli_fields(cls: type) -> list[dataclasses.Field[Any]]:
    """The fields of dataclass ``cls`` that are command-line options."""
    return [f for f in dataclasses.fields(cls) if f.metadata.get("cli", True)]


def has_default(f: dataclasses.Field[Any]) -> bool:
    """Whether field ``f`` has a default or a default factory."""
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def cli_type(hint: Any) -> Any:
    """The type Typer parses for a field typed ``hint``: ``Optional[X]`` for ``X | None``."""
    if isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint):  # the form every Typer reads
        return Optional[typing.Union[tuple(a for a in typing.get_args(hint) if a is not type(None))]]  # noqa: UP007, UP045
    return hint


def option_parameter(f: dataclasses.Field[Any], hint: Any) -> inspect.Parameter:
    """The keyword parameter of the command-line option of field ``f`` (typed ``hint``)."""
    flags = f.metadata.get("flags", ("--" + f.name.replace("_", "-"),))
    info = typer.Option(*flags, help=f.metadata["help"], min=f.metadata.get("min"))
    if f.default_factory is not dataclasses.MISSING:
        default: Any = f.default_factory()
    else:  # no default at all: a required option
        default = inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
    annotation = Annotated[cli_type(f.metadata.get("type", hint)), info]  # type: ignore[valid-type]
    return inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def field_value(f: dataclasses.Field[Any], hint: Any, value: Any) -> Any:
    """The value of field ``f`` (typed ``hint``) from its command-line ``value``."""
    return hint(value) if "type" in f.metadata and value is not None else value


def build_options(cls: type[Any], values: dict[str, Any]) -> Any:
    """The ``cls`` instance of the command-line ``values`` of its options (the other fields keep their defaults)."""
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: field_value(f, hints[f.name], values[f.name]) for f in cli_fields(cls)})


def check_fields(name: str, cls: type, own: set[str]) -> None:
    """Refuse a dataclass whose options clash with the command's parameters or that cannot be built."""
    options = cli_fields(cls)
    clash = sorted(own & {f.name for f in options})
    if clash:
        raise TypeError(f"{name}: parameters {', '.join(clash)} clash with fields of {cls.__name__}")
    for f in options:
        if "help" not in f.metadata:
            raise TypeError(f"{name}: field {f.name} of {cls.__name__} has no help text")
    for f in dataclasses.fields(cls):
        if f not in options and not has_default(f):
            raise TypeError(f"{name}: field {f.name} of {cls.__name__} is not an option and has no default")


def dataclass_options(command: Callable[..., R]) -> Callable[..., R]:
    """``command`` with one Typer option per command-line field of the dataclass its ``options`` parameter is
    annotated with, in that parameter's place; a call builds the instance and passes it as ``options=``."""
    own = inspect.signature(command, eval_str=True).parameters
    cls = own[OPTIONS].annotation if OPTIONS in own else None
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"{command.__name__}: no '{OPTIONS}' parameter annotated with a dataclass")
    check_fields(command.__name__, cls, set(own))
    hints = typing.get_type_hints(cls)
    generated = [option_parameter(f, hints[f.name]) for f in cli_fields(cls)]
    parameters: list[inspect.Parameter] = []
    for parameter in own.values():  # all keyword-only (Typer passes keywords), the options in their place
        keyword = parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        parameters += generated if parameter.name == OPTIONS else [keyword]
    names = {p.name for p in generated}

    @functools.wraps(command)
    def run(**values: Any) -> R:
        options = build_options(cls, {name: values.pop(name) for name in names})
        return command(**values, **{OPTIONS: options})

    # What Typer reads: inspect.signature stops here instead of following __wrapped__ to the command, and
    # typing.get_type_hints finds resolved annotations, not the command's strings.
    run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in parameters if p.annotation is not p.empty}
    return run
