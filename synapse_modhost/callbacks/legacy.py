"""Loading legacy (pre-``modules:``) modules the way Synapse 1.163's legacy loaders do.

Synapse still accepts four old configuration sections; after the ``modules:`` list it
builds each configured object and registers the methods it has, under their callback
names, through the same registries new-style modules use:

=============================  ==================================  =======================
config section                 constructor                          ``kind``
=============================  ==================================  =======================
``spam_checker:``              ``Cls(config=…, api=…)`` if the      ``"spam_checker"``
                               constructor takes a positional
                               ``api`` parameter, else
                               ``Cls(config=…)``
``third_party_event_rules:``   ``Cls(config=…, module_api=…)``      ``"third_party_event_rules"``
``presence.presence_router``   ``Cls(config=…, module_api=…)``      ``"presence_router"``
``password_providers:``        ``Cls(config=…, account_handler=…)`` ``"password_provider"``
=============================  ==================================  =======================

Most methods are wrapped so a synchronous method's plain return value is accepted
(Synapse's ``maybe_awaitable``). Synapse's special wrappers, reproduced here, instead
``await`` the method's result directly, so a *synchronous* method fails there with
``TypeError`` (and the callback's failure policy applies): the password provider's
``check_password``, ``check_auth`` and ``check_3pid_auth``, and the third-party rules'
``check_event_allowed`` and ``on_create_room``. The choice of wrapper follows the
method's ``__name__``, as in Synapse.
"""

from __future__ import annotations

import functools
import inspect
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, Tuple

from twisted.internet import defer

from synapse_modhost.errors import SynapseError
from synapse_modhost.types import JsonDict

if TYPE_CHECKING:
    from synapse_modhost.callbacks import ModuleCallbacks

__all__ = [
    "LEGACY_KINDS",
    "LEGACY_PASSWORD_PROVIDER",
    "LEGACY_PRESENCE_ROUTER",
    "LEGACY_SPAM_CHECKER",
    "LEGACY_THIRD_PARTY_EVENT_RULES",
    "LEGACY_SPAM_CHECKER_METHODS",
    "LEGACY_THIRD_PARTY_EVENT_RULES_METHODS",
    "LEGACY_PRESENCE_ROUTER_METHODS",
    "construct_legacy",
    "load_legacy",
    "load_legacy_password_auth_provider",
    "load_legacy_presence_router",
    "load_legacy_spam_checker",
    "load_legacy_third_party_event_rules",
    "maybe_awaitable",
]

logger = logging.getLogger(__name__)

LEGACY_SPAM_CHECKER = "spam_checker"
LEGACY_THIRD_PARTY_EVENT_RULES = "third_party_event_rules"
LEGACY_PRESENCE_ROUTER = "presence_router"
LEGACY_PASSWORD_PROVIDER = "password_provider"
#: every ``kind`` accepted by :func:`construct_legacy` and :func:`load_legacy`
LEGACY_KINDS = (
    LEGACY_SPAM_CHECKER,
    LEGACY_THIRD_PARTY_EVENT_RULES,
    LEGACY_PRESENCE_ROUTER,
    LEGACY_PASSWORD_PROVIDER,
)

#: the methods Synapse registers for a legacy spam checker (not ``user_may_join_room``,
#: ``user_may_send_3pid_invite``, ``should_drop_federated_event`` or
#: ``check_login_for_spam``)
LEGACY_SPAM_CHECKER_METHODS = (
    "check_event_for_spam",
    "user_may_invite",
    "federated_user_may_invite",
    "user_may_create_room",
    "user_may_create_room_alias",
    "user_may_publish_room",
    "check_username_for_spam",
    "check_registration_for_spam",
    "check_media_file_for_spam",
)
#: the methods Synapse registers for a legacy third-party event rules module
LEGACY_THIRD_PARTY_EVENT_RULES_METHODS = (
    "check_event_allowed",
    "on_create_room",
    "check_threepid_can_be_invited",
    "check_visibility_can_be_modified",
)
#: the methods Synapse registers for a legacy presence router
LEGACY_PRESENCE_ROUTER_METHODS = ("get_users_for_states", "get_interested_users")

_PASSWORD_LOGIN_TYPE = "m.login.password"

AnyCallable = Callable[..., Any]


def maybe_awaitable(value: Any) -> Awaitable[Any]:
    """``value`` if it is awaitable, else an awaitable that gives ``value``."""
    if inspect.isawaitable(value):
        return value
    return defer.succeed(value)


async def _await_strict(value: Any) -> Any:
    """``await value``, failing as Python's ``await`` does when it is not awaitable."""
    if not inspect.isawaitable(value):
        raise TypeError(f"object {type(value).__name__} can't be used in 'await' expression")
    return await value


def _wrap_maybe_awaitable(f: AnyCallable) -> AnyCallable:
    """Return a callable that calls ``f`` and accepts a synchronous result."""

    def run(*args: Any, **kwargs: Any) -> Awaitable[Any]:
        return maybe_awaitable(f(*args, **kwargs))

    return _label(run, f)


def _label(wrapper: AnyCallable, f: AnyCallable) -> AnyCallable:
    """Give ``wrapper`` the module and qualified name of ``f``, for logs and inspection.

    Unlike ``functools.wraps`` this sets no ``__wrapped__``, so ``inspect.signature``
    still sees the wrapper's own parameters (as for Synapse's unlabelled wrappers).
    """
    target = getattr(f, "__func__", f)
    for attr_name in ("__module__", "__qualname__"):
        value = getattr(target, attr_name, None)
        if isinstance(value, str):
            setattr(wrapper, attr_name, value)
    return wrapper


def construct_legacy(cls: AnyCallable, config: Any, api: Any, kind: str) -> Any:
    """Build a legacy module object with the constructor keywords Synapse uses for ``kind``.

    ``kind`` is one of :data:`LEGACY_KINDS`. For spam checkers, ``api=`` is passed only
    when ``inspect.getfullargspec(cls).args`` names ``api`` (a keyword-only ``api`` is
    therefore not passed, as in Synapse). A password provider's constructor error is
    logged (``Error while initializing <cls>: <e>``) and re-raised.
    """
    if kind == LEGACY_SPAM_CHECKER:
        if "api" in inspect.getfullargspec(cls).args:
            return cls(config=config, api=api)
        return cls(config=config)
    if kind in (LEGACY_THIRD_PARTY_EVENT_RULES, LEGACY_PRESENCE_ROUTER):
        return cls(config=config, module_api=api)
    if kind == LEGACY_PASSWORD_PROVIDER:
        try:
            return cls(config=config, account_handler=api)
        except Exception as e:
            logger.exception("Error while initializing %r: %s", cls, e)
            raise
    raise ValueError(f"Unknown legacy module kind {kind!r}; expected one of {LEGACY_KINDS!r}")


def load_legacy(
    callbacks: ModuleCallbacks,
    module_name: str,
    cls: AnyCallable,
    config: Any,
    api: Any,
    kind: str,
) -> Any:
    """Construct a legacy module of ``kind`` and register its methods; return the object."""
    instance = construct_legacy(cls, config, api, kind)
    if kind == LEGACY_SPAM_CHECKER:
        load_legacy_spam_checker(callbacks, module_name, instance)
    elif kind == LEGACY_THIRD_PARTY_EVENT_RULES:
        load_legacy_third_party_event_rules(callbacks, module_name, instance)
    elif kind == LEGACY_PRESENCE_ROUTER:
        load_legacy_presence_router(callbacks, module_name, instance)
    else:
        load_legacy_password_auth_provider(callbacks, module_name, instance, api)
    return instance


# ---------------------------------------------------------------------------------------
# spam_checker:


def _wrap_legacy_spam_checker(f: AnyCallable | None) -> AnyCallable | None:
    if f is None:
        return None
    target = f
    if f.__name__ == "check_registration_for_spam":
        n_params = len(inspect.signature(f).parameters)
        if n_params == 3:
            # an old hook without ``auth_provider_id``: drop the fourth argument
            def three_args(
                email_threepid: JsonDict | None,
                username: str | None,
                request_info: Any,
                auth_provider_id: str | None,
            ) -> Any:
                return f(email_threepid, username, request_info)

            target = three_args
        elif n_params != 4:
            raise RuntimeError("Bad signature for callback check_registration_for_spam")

    # functools.wraps keeps the method's signature visible through ``__wrapped__``:
    # ``user_may_create_room`` and ``check_username_for_spam`` choose their call form by
    # counting the callback's parameters.
    @functools.wraps(target)
    def run(*args: Any, **kwargs: Any) -> Awaitable[Any]:
        return maybe_awaitable(target(*args, **kwargs))

    return run


def load_legacy_spam_checker(
    callbacks: ModuleCallbacks, module_name: str, instance: object
) -> None:
    """Register the spam checker methods ``instance`` has (``spam_checker:`` config).

    Only :data:`LEGACY_SPAM_CHECKER_METHODS` are looked for. Each is wrapped so it may be
    synchronous; a three-parameter ``check_registration_for_spam`` is called without
    ``auth_provider_id``, and one with neither three nor four parameters raises
    ``RuntimeError("Bad signature for callback check_registration_for_spam")``.
    """
    hooks = {
        name: _wrap_legacy_spam_checker(getattr(instance, name, None))
        for name in LEGACY_SPAM_CHECKER_METHODS
    }
    callbacks.spam_checker.register_callbacks(module_name, **hooks)


# ---------------------------------------------------------------------------------------
# third_party_event_rules:


def _wrap_legacy_third_party_rule(f: AnyCallable | None) -> AnyCallable | None:
    if f is None:
        return None
    checked = f

    if f.__name__ == "check_event_allowed":

        async def check_event_allowed(event: Any, state_events: Any) -> Tuple[Any, JsonDict | None]:
            res = await _await_strict(checked(event, state_events))
            if isinstance(res, dict):
                # the old form returned the replacement event dict instead of True
                return True, res
            return res, None

        return _label(check_event_allowed, f)

    if f.__name__ == "on_create_room":

        async def on_create_room(
            requester: Any, request_content: JsonDict, is_requester_admin: bool
        ) -> None:
            res = await _await_strict(checked(requester, request_content, is_requester_admin))
            if res is False:
                raise SynapseError(403, "Room creation forbidden with these parameters")

        return _label(on_create_room, f)

    return _wrap_maybe_awaitable(f)


def load_legacy_third_party_event_rules(
    callbacks: ModuleCallbacks, module_name: str, instance: object
) -> None:
    """Register the rules methods ``instance`` has (``third_party_event_rules:`` config).

    Only :data:`LEGACY_THIRD_PARTY_EVENT_RULES_METHODS` are looked for.
    ``check_event_allowed`` returning a dict becomes ``(True, dict)``, anything else
    ``(value, None)``; ``on_create_room`` returning ``False`` raises
    ``SynapseError(403, "Room creation forbidden with these parameters")``. Those two must
    return awaitables; the other two may be synchronous.
    """
    hooks = {
        name: _wrap_legacy_third_party_rule(getattr(instance, name, None))
        for name in LEGACY_THIRD_PARTY_EVENT_RULES_METHODS
    }
    callbacks.third_party_rules.register_callbacks(module_name, **hooks)


# ---------------------------------------------------------------------------------------
# presence.presence_router


def load_legacy_presence_router(
    callbacks: ModuleCallbacks, module_name: str, instance: object
) -> None:
    """Register ``get_users_for_states``/``get_interested_users`` of ``instance``.

    Both may be synchronous. A router with only one of them fails with the presence
    router's pairing ``RuntimeError``, as in Synapse.
    """
    hooks: Dict[str, AnyCallable | None] = {}
    for name in LEGACY_PRESENCE_ROUTER_METHODS:
        f = getattr(instance, name, None)
        hooks[name] = _wrap_maybe_awaitable(f) if f is not None else None
    callbacks.presence_router.register_callbacks(module_name, **hooks)


# ---------------------------------------------------------------------------------------
# password_providers:


def _wrap_legacy_password_method(f: AnyCallable | None, api: Any) -> AnyCallable | None:
    if f is None:
        return None
    checked = f

    if f.__name__ == "check_password":
        # old form: check_password(user_id, password) -> bool
        async def check_password(
            username: str, login_type: str, login_dict: JsonDict
        ) -> Tuple[str, None] | None:
            user_id: str = api.get_qualified_user_id(username)
            password = login_dict["password"]
            if await _await_strict(checked(user_id, password)):
                return user_id, None
            return None

        return _label(check_password, f)

    if f.__name__ in ("check_auth", "check_3pid_auth"):
        # the old forms could return a bare user id
        async def bare_user_id_allowed(*args: Any) -> Any:
            result = await _await_strict(checked(*args))
            if isinstance(result, str):
                return result, None
            return result

        return _label(bare_user_id_allowed, f)

    return _wrap_maybe_awaitable(f)


def load_legacy_password_auth_provider(
    callbacks: ModuleCallbacks, module_name: str, instance: object, api: Any
) -> None:
    """Register a legacy password provider's methods (``password_providers:`` config).

    - ``check_3pid_auth`` and ``on_logged_out`` are registered as is (a bare ``str``
      result of ``check_3pid_auth`` means ``(str, None)``);
    - ``get_supported_login_types()`` is called now (synchronously); each
      ``type -> fields`` it returns gets ``check_auth`` as auth checker (a bare ``str``
      result means ``(str, None)``); without ``check_auth`` the types are not registered;
    - ``check_password(user_id, password) -> bool`` becomes the auth checker for
      ``("m.login.password", ("password",))``, called with the qualified user id
      (``api.get_qualified_user_id``); truthy -> ``(user_id, None)``.

    ``check_password``, ``check_auth`` and ``check_3pid_auth`` must return awaitables
    (Synapse awaits them directly; a synchronous one fails with ``TypeError`` and the
    checker is skipped); ``on_logged_out`` may be synchronous.
    """
    check_3pid_auth = _wrap_legacy_password_method(getattr(instance, "check_3pid_auth", None), api)
    on_logged_out = _wrap_legacy_password_method(getattr(instance, "on_logged_out", None), api)

    supported_login_types: Dict[str, Any] = {}
    get_types = getattr(instance, "get_supported_login_types", None)
    if get_types is not None:
        supported_login_types.update(get_types())

    auth_checkers: Dict[Tuple[str, Tuple[str, ...]], AnyCallable] = {}
    check_auth = _wrap_legacy_password_method(getattr(instance, "check_auth", None), api)
    if check_auth is not None:
        for login_type, fields in supported_login_types.items():
            auth_checkers[(login_type, tuple(fields))] = check_auth

    check_password = _wrap_legacy_password_method(getattr(instance, "check_password", None), api)
    if check_password is not None:
        auth_checkers[(_PASSWORD_LOGIN_TYPE, ("password",))] = check_password

    callbacks.password_auth_provider.register_callbacks(
        module_name,
        check_3pid_auth=check_3pid_auth,
        on_logged_out=on_logged_out,
        auth_checkers=auth_checkers,
    )
