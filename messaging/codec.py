"""The values that cross the wire, as msgpack of explicit shapes: never pickle from a socket.

Unpickling runs whatever code the bytes name, so a process that unpickles a frame belongs to
whoever can send it one. msgpack decodes to data only; the few richer values the hosts exchange
travel as msgpack extension types that name a shape, and decoding builds nothing else:

- plain values (None, bool, int, float, str, bytes, list, dict) as themselves;
- a tuple as ext TUPLE (a Message is a tuple, and dataclass fields may be tuples);
- a registered dataclass as ext DATACLASS: [its registered name, its init fields' values in
  order]; only classes that a layer above registered (`register`) decode, and only with
  exactly their fields;
- an exception as ext ERROR: [class name, message]; it decodes to that class of the
  foureyes.errors hierarchy, anything else to FoureyesError (its text keeps the original
  class name);
- an enum member as its value, as it would be in JSON: the hosts exchange `.value`s anyway.

`decode` raises Malformed for anything else: bytes that are not msgpack, an unknown extension,
an unregistered name, fields that do not fit. The wire drops such frames and counts them.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import msgpack
from foureyes import errors
from foureyes.errors import FoureyesError

log = logging.getLogger(__name__)
T = TypeVar("T")

TUPLE, DATACLASS, ERROR = 1, 2, 3


class Malformed(Exception):
    """A frame that is not a well-formed message of a known shape."""


# name -> (class, its init fields, whether it may be built without its __init__), and back
_by_name: dict[str, tuple[type[Any], tuple[str, ...], bool]] = {}
_names: dict[type[Any], str] = {}


def register(cls: type[T], name: str = "") -> type[T]:
    """Let instances of a dataclass cross the wire under a name that stays put when the class
    moves (default: the class's own name). Usable as a class decorator."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a dataclass")
    name = name or cls.__name__
    known = _by_name.get(name)
    if known is not None and known[0] is not cls:
        raise ValueError(f"wire name {name!r} is taken by {known[0].__qualname__}")
    fields = dataclasses.fields(cls)
    plain = (all(f.init for f in fields) and not hasattr(cls, "__post_init__")
             and not hasattr(cls, "__slots__"))
    _by_name[name] = (cls, tuple(f.name for f in fields if f.init), plain)
    _names[cls] = name
    return cls


def _error_classes() -> dict[str, type[FoureyesError]]:
    found: dict[str, type[FoureyesError]] = {}
    todo: list[type[FoureyesError]] = [FoureyesError]
    while todo:
        cls = todo.pop()
        if cls.__module__ == errors.__name__:
            found[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return found


_ERRORS = _error_classes()


class _Packers(threading.local):
    """A Packer per nesting depth (an extension's payload is packed while its container is):
    `msgpack.packb` makes a new Packer each call, which costs ~20 µs inside a `default` hook,
    against ~1 µs for a kept one."""

    def __init__(self) -> None:
        self.stack: list[Any] = []
        self.depth = 0


_packers = _Packers()


def _pack(value: Any) -> bytes:
    p = _packers
    if p.depth == len(p.stack):
        p.stack.append(msgpack.Packer(default=_default, strict_types=True, use_bin_type=True,
                                      autoreset=True))
    packer = p.stack[p.depth]
    p.depth += 1
    try:
        return packer.pack(value)
    finally:
        p.depth -= 1


_PLAIN: tuple[type[Any], ...] = (str, int, float, bytes, list, dict)


def _default(value: Any) -> Any:
    # strict_types: tuples, str/int subclasses and the rest come here instead of being
    # flattened silently into lists and plain values
    if isinstance(value, tuple):
        return msgpack.ExtType(TUPLE, _pack(list(value)))
    name = _names.get(type(value))
    if name is not None:
        fields = _by_name[name][1]
        return msgpack.ExtType(DATACLASS, _pack([name, [getattr(value, f) for f in fields]]))
    if isinstance(value, BaseException):
        return msgpack.ExtType(ERROR, _pack(_error_parts(value)))
    if isinstance(value, enum.Enum):
        return value.value
    for plain in _PLAIN:  # a subclass of a plain value travels as the plain value
        if isinstance(value, plain):
            return plain(value)
    raise TypeError(f"{type(value).__qualname__} cannot cross the wire (not registered)")


def _error_parts(error: BaseException) -> list[str]:
    """The nearest class of the hierarchy (a subclass defined elsewhere travels as its base);
    another exception, a bug, as FoureyesError naming its class."""
    for cls in type(error).__mro__:
        if _ERRORS.get(cls.__name__) is cls:
            return [cls.__name__, str(error)]
    return ["FoureyesError", f"{type(error).__name__}: {error}"]


def _unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, ext_hook=_ext, strict_map_key=False, use_list=True, raw=False)


def _ext(code: int, data: bytes) -> Any:
    if code == TUPLE:
        return tuple(_unpack(data))
    if code == DATACLASS:
        name, values = _unpack(data)
        known = _by_name.get(name) if isinstance(name, str) else None
        if known is None:
            raise Malformed(f"unregistered type {str(name)[:40]!r}")
        cls, fields, plain = known
        if not isinstance(values, list) or len(values) != len(fields):
            raise Malformed(f"{name} does not have the fields {', '.join(fields)}")
        if not plain:  # its __init__ checks or fills in something
            return cls(**dict(zip(fields, values, strict=True)))
        # as pickle does, without the dataclass's __init__: a frozen one's costs a setattr
        # through object per field, most of a CaseSpec's decoding time
        obj = object.__new__(cls)
        obj.__dict__.update(zip(fields, values, strict=True))
        return obj
    if code == ERROR:
        name, message = _unpack(data)
        cls = _ERRORS.get(name, FoureyesError) if isinstance(name, str) else FoureyesError
        error = cls.__new__(cls)  # RuleError's own __init__ wants its parts; the text is enough
        Exception.__init__(error, str(message))
        return error
    raise Malformed(f"unknown extension type {code}")


def encode(value: Any) -> bytes:
    """TypeError if `value` holds something that cannot cross the wire: a sender's bug."""
    return _pack(value)


def decode(data: bytes) -> Any:
    try:
        return _unpack(data)
    except Malformed:
        raise
    except Exception as e:  # whatever msgpack or a dataclass's own checks make of bad bytes
        raise Malformed(f"{type(e).__name__}: {e}"[:200]) from None


class Drops:
    """Counts the frames a socket dropped, and says so in the log at most once every `every`
    seconds, in one line: a peer sending garbage must not flood the log."""

    def __init__(self, where: str, every: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.where, self.every, self._clock = where, every, clock
        self.count = 0
        self._logged_at = -every
        self._unlogged = 0

    def __call__(self, why: str) -> None:
        self.count += 1
        self._unlogged += 1
        now = self._clock()
        if now - self._logged_at >= self.every:
            log.warning("%s: dropped %d frame(s) (%d in all); last: %s", self.where, self._unlogged,
                        self.count, why)
            self._logged_at, self._unlogged = now, 0
