"""No secret shows in a dataclass's repr, so none reaches a log line, an error message or a
debugger's view by way of the object that holds it: every field named like a secret (a token,
a secret, a password, a JWT, a key) is declared ``repr=False``, unless it holds a function or an
object whose own repr shows nothing of it."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import re
import sys

import core

SECRET_NAME = re.compile(r"token|secret|password|jwt|api_key|private_key", re.IGNORECASE)


def dataclasses_of_core() -> list[type]:
    found = []
    for module in pkgutil.walk_packages(core.__path__, "core."):
        if module.name.endswith("__main__"):
            continue
        loaded = importlib.import_module(module.name)
        for value in vars(loaded).values():
            if (
                isinstance(value, type)
                and dataclasses.is_dataclass(value)
                and value.__module__ == loaded.__name__
            ):
                found.append(value)
    return found


def shows_nothing_of_itself(cls: type, annotation: object) -> bool:
    """A function, or an object of a class that keeps object's repr (no attributes shown)."""
    text = str(annotation)
    if text.startswith("Callable") or "Callable[" in text:
        return True
    named = vars(sys.modules[cls.__module__]).get(text.split("|")[0].strip())
    return isinstance(named, type) and named.__repr__ is object.__repr__


def test_every_secret_field_is_left_out_of_its_dataclass_repr():
    classes = dataclasses_of_core()
    assert len(classes) > 100  # the walk found the code base, not an empty list
    shown = [
        f"{cls.__module__}.{cls.__qualname__}.{field.name}"
        for cls in classes
        if cls.__dataclass_params__.repr  # type: ignore[attr-defined]
        for field in dataclasses.fields(cls)
        if SECRET_NAME.search(field.name)
        and field.repr
        and not shows_nothing_of_itself(cls, field.type)
    ]
    assert shown == []


def test_a_secret_field_really_is_missing_from_the_repr():
    from core.features.points.se_wallet import SeAccount

    account = SeAccount(**{
        field.name: "eyJhbGciOi.secret-jwt" if field.name == "jwt" else "x"
        for field in dataclasses.fields(SeAccount)
    })  # fmt: skip
    assert "secret-jwt" not in repr(account)
