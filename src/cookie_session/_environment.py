"""Where a deployment's settings come from: overrides, environment variables, an env file, a
secrets directory, then the defaults; which variable held each value, for messages that name
it; and the checks that only the environment needs (the same variable in two letter cases,
near misses of real variable names, files that cannot be read).

:class:`~cookie_session.config.SessionConfig` declares the settings and their rules; this
module only finds their values (``SessionConfig.from_env`` and ``SessionConfig.load`` call
:func:`load`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from dotenv import dotenv_values
from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, DotEnvSettingsSource, EnvSettingsSource

from cookie_session._near_miss import warn_near_misses

__all__ = ["ConfigSource", "LoadedConfig", "Unreadable", "load"]

ConfigSource = Literal["argument", "environment", "env file", "secrets dir", "default"]


ConfigT = TypeVar("ConfigT", bound=BaseSettings)


class Unreadable:
    """Stands in for a secret input that could not be used, so errors never echo the value."""

    def __init__(self, description: str) -> None:
        self.description = description

    def __repr__(self) -> str:
        return f"<{self.description}>"


def load(
    cls: type[ConfigT],
    env_file: str | os.PathLike[str] | None,
    *,
    env_prefix: str,
    secrets_dir: str | os.PathLike[str] | None,
    overrides: Mapping[str, object],
    env_variable: Callable[[str, str], str],
) -> LoadedConfig[ConfigT]:
    """:meth:`SessionConfig.load`: the settings of ``cls`` from the deployment, with the origin
    of each; ``env_variable(field, env_prefix)`` names the variable that sets a field."""
    given = overrides
    unknown = sorted(set(given) - set(cls.model_fields))
    if unknown:
        raise TypeError(f"unknown SessionConfig setting(s): {', '.join(unknown)}")
    layers: list[tuple[ConfigSource, Mapping[str, object]]] = [
        ("environment", EnvSettingsSource(cls, case_sensitive=False).env_vars),
    ]
    raw_layers: list[tuple[ConfigSource, Mapping[str, str | None]]] = [("environment", os.environ)]
    if env_file is not None:
        try:
            dotenv = DotEnvSettingsSource(cls, env_file=Path(env_file), case_sensitive=False)
        except (UnicodeDecodeError, OSError) as error:
            raise _unreadable_env_file(cls, env_file, error) from None
        layers.append(("env file", dotenv.env_vars))
        if Path(env_file).is_file():
            raw_layers.append(("env file", dotenv_values(env_file, encoding="utf-8")))
    variables_of_fields = {
        env_variable(field, env_prefix).lower(): field for field in cls.model_fields
    }
    conflicts = [
        conflict
        for source, raw in raw_layers
        for conflict in _spelling_conflicts(source, raw, variables_of_fields)
    ]
    # Before validating, so the hint comes also when the setting it was meant for is then
    # missing (SESSION_SECRETKEY set, SESSION_SECRET_KEY required).
    warn_near_misses(
        raw_layers,
        [env_variable(field, env_prefix) for field in cls.model_fields],
        env_prefix,
    )
    if secrets_dir is not None:
        names = {env_variable(field, env_prefix) for field in cls.model_fields}
        layers.append(("secrets dir", _read_secrets_dir(Path(secrets_dir), names)))

    values: dict[str, Any] = {}
    sources: dict[str, ConfigSource] = {}
    for field in cls.model_fields:
        if field in given:
            values[field], sources[field] = given[field], "argument"
            continue
        variable = env_variable(field, env_prefix).lower()
        for source, variables in layers:
            if variable in variables:
                values[field], sources[field] = variables[variable], source
                break
        else:
            sources[field] = "default"
    try:
        config = cls.model_validate(values)
    except ValidationError as error:
        missing = None
        if env_file is not None and not Path(env_file).is_file():
            missing = Path(env_file).absolute()
        raise _name_variables(
            error, cls, env_variable, env_prefix, sources, conflicts, missing
        ) from None
    if conflicts:
        raise ValidationError.from_exception_data(cls.__name__, conflicts, hide_input=True)
    return LoadedConfig(config=config, sources=sources, env_prefix=env_prefix)


@dataclass(frozen=True, slots=True)
class LoadedConfig(Generic[ConfigT]):
    """A configuration read by :meth:`SessionConfig.load`, with the origin of every setting."""

    config: ConfigT
    sources: Mapping[str, ConfigSource]
    env_prefix: str


def _read_secrets_dir(directory: Path, names: set[str]) -> dict[str, object]:
    """Files named like the variables (any letter case), as Docker and Kubernetes mount them.

    Other files are not read: the directory often holds other services' (binary) secrets.
    """
    if not directory.is_dir():
        warnings.warn(f'secrets directory "{directory}" does not exist', stacklevel=4)
        return {}
    wanted = {name.lower() for name in names}
    return {
        entry.name.lower(): _read_secret_file(entry)
        for entry in directory.iterdir()
        if entry.name.lower() in wanted and entry.is_file()
    }


def _read_secret_file(path: Path) -> object:
    try:
        return path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        # The decoding error would quote a byte of the file: say no more than this.
        return Unreadable("a file that is not UTF-8 text")
    except OSError as error:
        return Unreadable(f"a file that cannot be read ({error.strerror})")


def _unreadable_env_file(
    config_cls: type[Any], env_file: str | os.PathLike[str], error: Exception
) -> ValidationError:
    problem = "is not UTF-8 text" if isinstance(error, UnicodeDecodeError) else "cannot be read"
    return ValidationError.from_exception_data(
        config_cls.__name__,
        [
            InitErrorDetails(
                type=PydanticCustomError(
                    "env_file",
                    "env file {path} {problem}",
                    {"path": str(env_file), "problem": problem},
                ),
                loc=(),
                input=None,
            )
        ],
    )


def _spelling_conflicts(
    source: ConfigSource,
    variables: Mapping[str, str | None],
    variables_of_fields: Mapping[str, str],
) -> list[InitErrorDetails]:
    """One error per setting whose variable is set more than once in ``variables``, in
    different letter cases (``SESSION_SECRET_KEY`` and ``session_secret_key``), to different
    values: which one wins would otherwise depend on the order the variables are listed in."""
    spellings: dict[str, dict[str, str | None]] = {}
    for name, value in variables.items():
        if name.lower() in variables_of_fields:
            spellings.setdefault(name.lower(), {})[name] = value
    return [
        InitErrorDetails(
            type=PydanticCustomError(
                "variable_conflict",
                "{names} are set in the {source} with different values: keep one",
                {"names": " and ".join(sorted(found)), "source": source},
            ),
            loc=(variables_of_fields[variable],),
            input=None,
        )
        for variable, found in spellings.items()
        if len(set(found.values())) > 1
    ]


def _name_variables(
    error: ValidationError,
    config_cls: type[Any],
    env_variable: Callable[[str, str], str],
    env_prefix: str,
    sources: Mapping[str, ConfigSource],
    conflicts: list[InitErrorDetails],
    missing_env_file: Path | None = None,
) -> ValidationError:
    """Rewrite errors so each says which variable (or argument) held the wrong value."""

    def origin(field: str, missing: bool = False) -> str:
        source = sources.get(field, "default")
        if source == "argument":
            return f"argument {field}"
        if source == "default":
            if missing and missing_env_file is not None:
                # Often the reason: the process runs in another directory than the .env file.
                return (
                    f"{env_variable(field, env_prefix)} (not set, and there is no env file "
                    f"at {missing_env_file})"
                )
            return f"{env_variable(field, env_prefix)} (not set)"
        return f"{env_variable(field, env_prefix)} (from the {source})"

    details: list[InitErrorDetails] = []
    for item in error.errors(include_url=False):
        loc = item["loc"]
        if item["type"] != "cookie_rule" and loc and isinstance(loc[0], str):
            where = origin(loc[0], missing=item["type"] == "missing")
        else:
            fields = str(item.get("ctx", {}).get("fields", "")).split(", ")
            where = ", ".join(origin(field) for field in fields if field)
        details.append(
            InitErrorDetails(
                type=PydanticCustomError(
                    item["type"],
                    "{where}: {message}",
                    {
                        "where": where,
                        "message": item["msg"],
                    },
                ),
                loc=loc,
                input=None,
            )
        )
    return ValidationError.from_exception_data(
        config_cls.__name__, details + conflicts, hide_input=True
    )
