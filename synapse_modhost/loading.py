"""Loading modules as Synapse does: import the class, ``parse_config``, then construct.

Two phases, as in Synapse: :func:`prepare_modules` imports every class and runs its
``parse_config`` while the configuration is read (errors are ``ConfigError``\\ s with the
YAML path); :func:`construct_module` builds ``Cls(config, api)`` later, when the host
starts, before any listener is bound.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any, Callable, List, NamedTuple, Sequence, Tuple

from synapse_modhost.config import ConfigError, HomeServerConfig, item_path

__all__ = [
    "ModuleStartupError",
    "PreparedModule",
    "construct_module",
    "load_class",
    "parse_module_config",
    "prepare_module",
    "prepare_modules",
]

logger = logging.getLogger("synapse_modhost.loading")


class PreparedModule(NamedTuple):
    """A module class, imported, with its parsed config; not constructed yet."""

    #: the dotted path from the config, e.g. ``my_pkg.MyModule``
    name: str
    cls: Callable[..., Any]
    #: what ``parse_config`` returned (or the raw config)
    config: Any
    #: YAML path of the entry, e.g. ``("modules", "<item 0>")``
    config_path: Tuple[str, ...]


class ModuleStartupError(Exception):
    """A module failed while the host was starting: its constructor raised, say."""

    def __init__(self, module: str, config_path: Sequence[str], stage: str, cause: BaseException):
        super().__init__(module, tuple(config_path), stage, cause)
        self.module = module
        self.config_path = tuple(config_path)
        self.stage = stage
        self.cause = cause

    def __str__(self) -> str:
        return "module %r (%s) failed %s:\n  %s: %s" % (
            self.module,
            ".".join(self.config_path),
            self.stage,
            type(self.cause).__name__,
            self.cause,
        )


def load_class(dotted: str, path: Sequence[str]) -> Callable[..., Any]:
    """Import ``pkg.mod`` and return its attribute ``Cls`` for ``dotted = "pkg.mod.Cls"``.

    Every failure is a ``ConfigError`` at ``path`` naming the module and the cause
    (Synapse lets these escape as raw tracebacks).
    """
    path = tuple(path)
    if "." not in dotted.strip("."):
        raise ConfigError(
            "module path %r must be of the form package.module.ClassName" % (dotted,), path
        )
    module_name, cls_name = dotted.rsplit(".", 1)
    try:
        module = importlib.import_module(module_name)
    except ConfigError:
        raise
    except Exception as e:
        # The stand-in keeps the import error's own frames: ``--verbose`` shows the
        # module's file and line, not just where the host caught it.
        raise ConfigError("Failed to import module %r" % (dotted,), path) from _Cause(
            e
        ).with_traceback(e.__traceback__)
    try:
        cls: Callable[..., Any] = getattr(module, cls_name)
        return cls
    except AttributeError:
        raise ConfigError(
            "Failed to load module %r: Python module %r has no attribute %r"
            % (dotted, module_name, cls_name),
            path,
        ) from None


class _Cause(Exception):
    """Stands for an exception in the printed cause chain as ``Type: message``."""

    def __init__(self, original: BaseException):
        super().__init__("%s: %s" % (type(original).__name__, original))
        #: the exception itself, for ``--verbose`` tracebacks
        self.original = original


def parse_module_config(
    cls: Callable[..., Any], name: str, raw: Any, path: Sequence[str]
) -> Any:
    """Run ``cls.parse_config(raw)`` when the class has one, mapping errors to paths.

    ``path`` is the YAML path of the ``config`` value. A ``jsonschema.ValidationError``
    becomes a ``ConfigError`` at ``path`` + the error's path; a ``ConfigError`` keeps its
    message as the cause and its path appended; anything else is wrapped.
    """
    parse = getattr(cls, "parse_config", None)
    if parse is None:
        return raw
    path = tuple(path)
    try:
        return parse(raw)
    except ConfigError as e:
        raise ConfigError(
            "Failed to parse config for module %r" % (name,), path + tuple(e.path or ())
        ) from e
    except Exception as e:
        validation_error = _jsonschema_validation_error()
        if validation_error is not None and isinstance(e, validation_error):
            sub = tuple(
                item_path(p) if isinstance(p, int) else str(p)
                for p in getattr(e, "absolute_path", ())
            )
            raise ConfigError(getattr(e, "message", str(e)), path + sub) from None
        raise ConfigError("Failed to parse config for module %r" % (name,), path) from e


def _jsonschema_validation_error() -> Any:
    # jsonschema is only loaded when a module uses it; don't pay for its import here.
    mod = sys.modules.get("jsonschema")
    return getattr(mod, "ValidationError", None) if mod is not None else None


def prepare_module(module: str, raw_config: Any, config_path: Sequence[str]) -> PreparedModule:
    """Import one module class and run its ``parse_config``."""
    config_path = tuple(config_path)
    cls = load_class(module, config_path + ("module",))
    parsed = parse_module_config(cls, module, raw_config, config_path + ("config",))
    return PreparedModule(module, cls, parsed, config_path)


def prepare_modules(config: HomeServerConfig) -> List[PreparedModule]:
    """Import and parse the config of every ``modules:`` entry, in list order."""
    return [prepare_module(e.module, e.config, e.config_path) for e in config.modules]


def construct_module(prepared: PreparedModule, api: Any) -> Any:
    """``Cls(config, api)``; any exception becomes a :class:`ModuleStartupError`."""
    try:
        instance = prepared.cls(prepared.config, api)
    except Exception as e:
        raise ModuleStartupError(
            prepared.name, prepared.config_path, "in its constructor", e
        ) from e
    logger.info("Loaded module %r", instance)
    return instance
