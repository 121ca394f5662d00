"""A dataclass field's default, so a widget or a command-line option states each default
once: where the dataclass declares it."""

from __future__ import annotations

import dataclasses


def field_default(cls: type, name: str) -> object:
    """The default of field ``name`` of dataclass ``cls`` (its factory called if it has one);
    KeyError if there is no such field, ValueError if the field has no default."""
    field = {f.name: f for f in dataclasses.fields(cls)}[name]
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    raise ValueError(f"{cls.__name__}.{name} has no default")
