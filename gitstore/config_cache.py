"""A cache of validated configurations: flagdeck.yaml as a command last validated it, so the next command that
reads the same file skips parsing it with ruamel and building the configuration models' validators (issue 18:
~45 ms of every `flagdeck validate`, `eval` or `export`, a seventh of the command at 1,000 flags).

Why it can never serve stale data: an entry is named by a hash of everything the validated configuration depends
on: the file's bytes and resolved path, the home directory (`~` in paths, the default state directories), the
source of every module defining the model and its sections, and the versions of Python, pydantic and ruamel. Paths
resolved through symbolic links while validating (a relative local remote) are resolved again on every hit and must
give the same result. An entry is written only when it reads back equal to what validation produced, value for value
and type for type, and only for a configuration without problems in the files only the evaluator reads (those are
looked at again by every `flagdeck serve`, which never reads this cache). Any other content — cut short, corrupt,
another format — is a miss and is deleted, never an error or a wrong answer.

What it trusts: entries are JSON (orjson), decoded only into the model's own classes, in a directory of the user's
own (`$XDG_CACHE_HOME/flagdeck/config`, else `~/.cache/flagdeck/config`, mode 0700; a directory owned by someone
else or writable by others is not used). `FLAGDECK_CONFIG_CACHE=off` turns the cache off; `FLAGDECK_CONFIG_CACHE=DIR`
puts it in DIR."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import types
import typing
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

if TYPE_CHECKING:
    from pydantic import BaseModel

    from gitstore.config import Config

ENV = "FLAGDECK_CONFIG_CACHE"
FORMAT = b"flagdeck config cache 1\n"
MAX_ENTRIES = 256  # one per configuration file version and home directory; the oldest go first
MAX_ENTRY = 1024 * 1024
C = TypeVar("C", bound="Config")
_fingerprints: dict[type, bytes] = {}


class _Unsupported(Exception):
    """A value the cache cannot write faithfully: the configuration is not cached."""


def cache_dir() -> Path | None:
    """Where entries live; None when the cache is off."""
    setting = os.environ.get(ENV, "").strip()
    if setting.lower() in ("0", "off", "no", "false"):
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "flagdeck" / "config"


def entry_name(found: Path, data: bytes, model: type[Config]) -> str:
    """The entry's file name: a hash of what the validated configuration depends on (see the module's docstring)."""
    digest = hashlib.sha256(FORMAT + _fingerprint(model))
    for part in (str(found), os.path.expanduser("~"), f"{model.__module__}.{model.__qualname__}"):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(data)
    return digest.hexdigest()


def load(found: Path, data: bytes, model: type[C]) -> C | None:
    """The configuration cached for this file's `data` at `found` as `model`; None on a miss."""
    directory = _trusted(cache_dir())
    if directory is None:
        return None
    path = directory / entry_name(found, data, model)
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_ENTRY + 1)
    except OSError:
        return None
    try:
        entry = orjson.loads(raw)
        for written, resolved in entry["resolved"]:
            if str(Path(written).resolve()) != resolved:
                return None  # a link moved since: validate again (the entry stays for the old target)
        config = _decode(model, entry["config"])
        if not isinstance(config, model):
            raise TypeError(type(config).__name__)
    except (OSError, RuntimeError):  # a path that cannot be resolved now (a link loop): validate again
        return None
    except (orjson.JSONDecodeError, _Unsupported, KeyError, TypeError, ValueError):
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        return None
    return config


def save(found: Path, data: bytes, config: Config, resolved: list[tuple[str, str]]) -> None:
    """Keep `config`, validated from `data` at `found`, if it reads back exactly; errors only skip the cache."""
    directory = cache_dir()
    if directory is None:
        return
    try:
        encoded = _encode(config)
        if not _same(_decode(type(config), encoded), config):
            return
        body = orjson.dumps({"resolved": resolved, "config": encoded})
    except (_Unsupported, TypeError, ValueError):
        return
    if len(body) > MAX_ENTRY:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if _trusted(directory) is None:
            return
    except OSError:
        return
    from gitstore.atomic import write_whole  # (the miss path only)

    if write_whole(directory / entry_name(found, data, type(config)), body):
        with contextlib.suppress(OSError):
            _evict(directory)


def _trusted(directory: Path | None) -> Path | None:
    """`directory` if it exists, is the user's own and nobody else may write to it."""
    if directory is None:
        return None
    try:
        info = directory.stat()
    except OSError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        return None
    return directory


def _evict(directory: Path) -> None:
    entries = [entry for entry in directory.iterdir() if not entry.name.startswith(".")]
    if len(entries) <= MAX_ENTRIES:
        return

    def age(entry: Path) -> float:
        try:
            return entry.stat().st_mtime
        except OSError:
            return 0.0

    for entry in sorted(entries, key=age)[: len(entries) - MAX_ENTRIES * 3 // 4]:
        entry.unlink(missing_ok=True)


def _fingerprint(model: type[BaseModel]) -> bytes:
    """A hash of the source of every module defining `model`, its bases and the models of its fields, and of the
    versions of what parses and validates."""
    if model not in _fingerprints:
        import importlib.util

        import pydantic

        digest = hashlib.sha256(f"{sys.version} pydantic {pydantic.VERSION}\0".encode())
        ruamel = importlib.util.find_spec("ruamel.yaml")  # its version is in its __init__, read, not imported
        digest.update(Path(ruamel.origin).read_bytes() if ruamel and ruamel.origin else b"no ruamel")
        for name in sorted(fingerprinted(model)):
            digest.update(name.encode() + b"\0" + Path(sys.modules[name].__file__ or "").read_bytes())
        _fingerprints[model] = digest.digest()
    return _fingerprints[model]


def fingerprinted(model: type[BaseModel]) -> set[str]:
    """The modules `_fingerprint` hashes: this one, `gitstore.config` and what it reads the file with, and the modules
    of `model`, its bases and every model reachable through its fields' annotations (tests/store/test_config_cache.py
    checks that loading a configuration imports no other module of ours)."""
    return _defining_modules(model) | {__name__, "gitstore.config", "gitstore.errors", "gitstore.format.yamlio",
                                       "gitstore.format.limits"}


def _defining_modules(model: type[BaseModel]) -> set[str]:
    from pydantic import BaseModel

    modules: set[str] = set()
    seen: set[type[BaseModel]] = set()
    todo = [model]
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        modules.update(base.__module__ for base in cls.__mro__ if issubclass(base, BaseModel) and base is not BaseModel)
        for field in cls.model_fields.values():
            todo.extend(_model_classes(field.annotation))
    return modules


def _model_classes(annotation: Any) -> Iterator[type[BaseModel]]:
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _model_classes(arg)


def _encode(value: Any) -> Any:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        fields = {name: _encode(getattr(value, name)) for name in type(value).model_fields}
        return {"fields": fields, "set": sorted(value.model_fields_set)}
    if isinstance(value, Enum):
        return _encode(value.value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise _Unsupported(value)
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise _Unsupported(value)


def _decode(annotation: Any, value: Any) -> Any:
    """`value` (as `_encode` wrote it) as `annotation` says: models built without validating again."""
    from pydantic import BaseModel

    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _decode(args[0], value)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        arms = [arm for arm in args if arm is not type(None)]
        if len(arms) != 1:
            raise _Unsupported(annotation)
        return _decode(arms[0], value)
    if origin is typing.Literal:
        if value not in args:
            raise ValueError(value)
        return value
    if origin is dict:
        return {_decode(args[0], key): _decode(args[1], item) for key, item in _checked(value, dict).items()}
    if origin is list:
        return [_decode(args[0], item) for item in _checked(value, list)]
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return tuple(_decode(args[0], item) for item in _checked(value, list))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = _checked(_checked(value, dict)["fields"], dict)
        known = annotation.model_fields
        if set(fields) != set(known):
            raise ValueError(sorted(fields))
        built = {name: _decode(known[name].annotation, item) for name, item in fields.items()}
        return annotation.model_construct(_fields_set=set(_checked(value["set"], list)), **built)
    if annotation is Path or (isinstance(annotation, type) and issubclass(annotation, Path)):
        return Path(_checked(value, str))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return annotation(value)
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(value)
        return float(value)
    if annotation in (str, bool, int):
        return _checked(value, annotation)
    raise _Unsupported(annotation)


def _checked(value: Any, kind: type) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"expected {kind.__name__}, not {type(value).__name__}")
    return value


def _same(a: Any, b: Any) -> bool:
    """Equal value for value and type for type (1 is not 1.0, a path is not its text), private state included."""
    from pydantic import BaseModel

    if type(a) is not type(b):
        return False
    if isinstance(a, BaseModel):
        names = type(a).model_fields
        return (a.model_fields_set == b.model_fields_set and a.__pydantic_private__ == b.__pydantic_private__
                and all(_same(getattr(a, name), getattr(b, name)) for name in names))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
