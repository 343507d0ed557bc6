"""The errors of :mod:`server.municipality`: one tree, every one a :class:`MunicipalityError`::

    MunicipalityError
    ├── ProfileInvalid    a profile that cannot be (also a ValueError): ``.problems`` names
    │                     each field in error with a Dutch message for the administrator
    ├── HolidaysInvalid   the holiday fieldset is not answered with its choices (also a
    │                     ValueError): ``.problems`` as above
    ├── BadProfileData    the stored (JSON) form cannot be read: wrong shape, type, key,
    │                     version, or a value :class:`ProfileInvalid` would refuse; ``.where``
    └── UnknownTenant     no such tenant to save a profile for

Messages name fields and places, never values: a profile holds no resident's data, but the
same rule everywhere keeps logs from ever needing a second look.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


class MunicipalityError(Exception):
    """Base of every error raised by :mod:`server.municipality`."""


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """What is wrong with one field: a Dutch text marked with ``N_`` and its placeholders,
    formatted after translation (the page's language decides the words)."""

    message: str
    values: Mapping[str, int | str] = field(default_factory=lambda: MappingProxyType({}))

    def text(self, gettext: Callable[[str], str] | None = None) -> str:
        """The message in the language of ``gettext`` (Dutch without one)."""
        words = self.message if gettext is None else gettext(self.message)
        return words % dict(self.values) if self.values else words


class ProfileInvalid(MunicipalityError, ValueError):
    """The profile has fields in error; ``problems`` maps each field's name to its problem,
    in the order of the form."""

    def __init__(self, problems: Mapping[str, FieldProblem]) -> None:
        super().__init__("invalid profile fields: " + ", ".join(problems))
        self.problems = MappingProxyType(dict(problems))


class HolidaysInvalid(MunicipalityError, ValueError):
    """The holiday questions have answers outside their choices; ``problems`` maps each
    question's field name to its problem, in the order of the form."""

    def __init__(self, problems: Mapping[str, FieldProblem]) -> None:
        super().__init__("invalid holiday fields: " + ", ".join(problems))
        self.problems = MappingProxyType(dict(problems))


class BadProfileData(MunicipalityError):
    """The stored profile cannot be read; ``where`` names the place (``"phone"``,
    ``"version"``, ``""`` for the whole)."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where


class UnknownTenant(MunicipalityError):
    """There is no tenant with this id."""
