"""``ModuleApi``: what a module gets as ``api``. One instance per module.

Each module gets its own instance so everything it registers is attributed to it in logs,
errors and the dispatch record; the instances share the host underneath, so they behave
like Synapse's single shared one.
"""

from __future__ import annotations

import logging
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Dict,
    Optional,
    Tuple,
    TypeVar,
)

from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall
from twisted.web.resource import IResource

from synapse_modhost.module_api import _background, _cache
from synapse_modhost.module_api._managers import AccountDataManager, PublicRoomListManager
from synapse_modhost.module_api._rooms_api import RoomsApiMixin
from synapse_modhost.module_api._users_api import UsersApiMixin

if TYPE_CHECKING:
    from synapse_modhost.host import ModuleHost

__all__ = ["ModuleApi"]

logger = logging.getLogger("synapse_modhost.module_api")

T = TypeVar("T")


class ModuleApi(UsersApiMixin, RoomsApiMixin):
    """The API a module receives as the second constructor argument."""

    def __init__(self, host: "ModuleHost", module_name: str) -> None:
        self._host = host
        self._module_name = module_name
        self._callbacks = host.callbacks
        self._server_name = host.config.server.server_name
        self._clock = host.reactor
        self.custom_template_dir = host.config.server.custom_template_directory
        self._public_room_list_manager = PublicRoomListManager(host)
        self._account_data_manager = AccountDataManager(host)

    def __repr__(self) -> str:
        return "<ModuleApi for %s>" % (self._module_name,)

    # ------------------------------------------------------------------ registration

    def register_spam_checker_callbacks(
        self,
        *,
        check_event_for_spam: Optional[Callable[..., Any]] = None,
        should_drop_federated_event: Optional[Callable[..., Any]] = None,
        user_may_join_room: Optional[Callable[..., Any]] = None,
        user_may_invite: Optional[Callable[..., Any]] = None,
        federated_user_may_invite: Optional[Callable[..., Any]] = None,
        user_may_send_3pid_invite: Optional[Callable[..., Any]] = None,
        user_may_create_room: Optional[Callable[..., Any]] = None,
        user_may_create_room_alias: Optional[Callable[..., Any]] = None,
        user_may_publish_room: Optional[Callable[..., Any]] = None,
        user_may_send_state_event: Optional[Callable[..., Any]] = None,
        check_username_for_spam: Optional[Callable[..., Any]] = None,
        check_registration_for_spam: Optional[Callable[..., Any]] = None,
        check_media_file_for_spam: Optional[Callable[..., Any]] = None,
        check_login_for_spam: Optional[Callable[..., Any]] = None,
    ) -> None:
        """Register spam-checker callbacks. Added in Synapse v1.37.0."""
        self._callbacks.spam_checker.register_callbacks(
            self._module_name,
            check_event_for_spam=check_event_for_spam,
            should_drop_federated_event=should_drop_federated_event,
            user_may_join_room=user_may_join_room,
            user_may_invite=user_may_invite,
            federated_user_may_invite=federated_user_may_invite,
            user_may_send_3pid_invite=user_may_send_3pid_invite,
            user_may_create_room=user_may_create_room,
            user_may_create_room_alias=user_may_create_room_alias,
            user_may_publish_room=user_may_publish_room,
            user_may_send_state_event=user_may_send_state_event,
            check_username_for_spam=check_username_for_spam,
            check_registration_for_spam=check_registration_for_spam,
            check_media_file_for_spam=check_media_file_for_spam,
            check_login_for_spam=check_login_for_spam,
        )

    def register_account_validity_callbacks(
        self,
        *,
        is_user_expired: Optional[Callable[..., Any]] = None,
        on_user_registration: Optional[Callable[..., Any]] = None,
        on_user_login: Optional[Callable[..., Any]] = None,
        on_legacy_send_mail: Optional[Callable[..., Any]] = None,
        on_legacy_renew: Optional[Callable[..., Any]] = None,
        on_legacy_admin_request: Optional[Callable[..., Any]] = None,
    ) -> None:
        """Register account-validity callbacks. Added in Synapse v1.39.0."""
        self._callbacks.account_validity.register_callbacks(
            self._module_name,
            is_user_expired=is_user_expired,
            on_user_registration=on_user_registration,
            on_user_login=on_user_login,
            on_legacy_send_mail=on_legacy_send_mail,
            on_legacy_renew=on_legacy_renew,
            on_legacy_admin_request=on_legacy_admin_request,
        )

    def register_third_party_rules_callbacks(
        self,
        *,
        check_event_allowed: Optional[Callable[..., Any]] = None,
        on_create_room: Optional[Callable[..., Any]] = None,
        check_threepid_can_be_invited: Optional[Callable[..., Any]] = None,
        check_visibility_can_be_modified: Optional[Callable[..., Any]] = None,
        on_new_event: Optional[Callable[..., Any]] = None,
        check_can_shutdown_room: Optional[Callable[..., Any]] = None,
        check_can_deactivate_user: Optional[Callable[..., Any]] = None,
        on_profile_update: Optional[Callable[..., Any]] = None,
        on_user_deactivation_status_changed: Optional[Callable[..., Any]] = None,
        on_threepid_bind: Optional[Callable[..., Any]] = None,
        on_add_user_third_party_identifier: Optional[Callable[..., Any]] = None,
        on_remove_user_third_party_identifier: Optional[Callable[..., Any]] = None,
    ) -> None:
        """Register third-party event rules callbacks. Added in Synapse v1.39.0."""
        self._callbacks.third_party_rules.register_callbacks(
            self._module_name,
            check_event_allowed=check_event_allowed,
            on_create_room=on_create_room,
            check_threepid_can_be_invited=check_threepid_can_be_invited,
            check_visibility_can_be_modified=check_visibility_can_be_modified,
            on_new_event=on_new_event,
            check_can_shutdown_room=check_can_shutdown_room,
            check_can_deactivate_user=check_can_deactivate_user,
            on_profile_update=on_profile_update,
            on_user_deactivation_status_changed=on_user_deactivation_status_changed,
            on_threepid_bind=on_threepid_bind,
            on_add_user_third_party_identifier=on_add_user_third_party_identifier,
            on_remove_user_third_party_identifier=on_remove_user_third_party_identifier,
        )

    def register_presence_router_callbacks(
        self,
        *,
        get_users_for_states: Optional[Callable[..., Any]] = None,
        get_interested_users: Optional[Callable[..., Any]] = None,
    ) -> None:
        """Register presence-router callbacks. Added in Synapse v1.42.0."""
        self._callbacks.presence_router.register_callbacks(
            self._module_name,
            get_users_for_states=get_users_for_states,
            get_interested_users=get_interested_users,
        )

    def register_password_auth_provider_callbacks(
        self,
        *,
        check_3pid_auth: Optional[Callable[..., Any]] = None,
        on_logged_out: Optional[Callable[..., Any]] = None,
        auth_checkers: Optional[Dict[Tuple[str, Tuple[str, ...]], Callable[..., Any]]] = None,
        is_3pid_allowed: Optional[Callable[..., Any]] = None,
        get_username_for_registration: Optional[Callable[..., Any]] = None,
        get_displayname_for_registration: Optional[Callable[..., Any]] = None,
    ) -> None:
        """Register password auth provider callbacks. Added in Synapse v1.46.0."""
        self._callbacks.password_auth_provider.register_callbacks(
            self._module_name,
            check_3pid_auth=check_3pid_auth,
            on_logged_out=on_logged_out,
            auth_checkers=auth_checkers,
            is_3pid_allowed=is_3pid_allowed,
            get_username_for_registration=get_username_for_registration,
            get_displayname_for_registration=get_displayname_for_registration,
        )

    def register_background_update_controller_callbacks(
        self,
        *,
        on_update: Callable[..., Any],
        default_batch_size: Optional[Callable[..., Any]] = None,
        min_batch_size: Optional[Callable[..., Any]] = None,
    ) -> None:
        """Register background update controller callbacks. Added in Synapse v1.49.0."""
        self._callbacks.background_updates.register_callbacks(
            self._module_name,
            on_update=on_update,
            default_batch_size=default_batch_size,
            min_batch_size=min_batch_size,
        )

    def register_account_data_callbacks(
        self,
        *,
        on_account_data_updated: Optional[Callable[..., Any]] = None,
    ) -> None:
        """Register account data callbacks. Added in Synapse v1.57.0."""
        self._callbacks.account_data.register_callbacks(
            self._module_name,
            on_account_data_updated=on_account_data_updated,
        )

    def register_add_extra_fields_to_unsigned_client_event_callbacks(
        self,
        *,
        add_field_to_unsigned_callback: Optional[Callable[..., Any]] = None,
    ) -> None:
        """Register callbacks adding fields to events' ``unsigned``. Added in Synapse v1.96.0."""
        self._callbacks.unsigned_fields.register_callbacks(
            self._module_name,
            add_field_to_unsigned_callback=add_field_to_unsigned_callback,
        )

    def register_ratelimit_callbacks(
        self,
        *,
        get_ratelimit_override_for_user: Optional[Callable[..., Any]] = None,
    ) -> None:
        """Register rate-limit callbacks. Added in Synapse v1.132.0."""
        self._callbacks.ratelimit.register_callbacks(
            self._module_name,
            get_ratelimit_override_for_user=get_ratelimit_override_for_user,
        )

    def register_media_repository_callbacks(
        self,
        *,
        get_media_config_for_user: Optional[Callable[..., Any]] = None,
        is_user_allowed_to_upload_media_of_size: Optional[Callable[..., Any]] = None,
        get_media_upload_limits_for_user: Optional[Callable[..., Any]] = None,
        on_media_upload_limit_exceeded: Optional[Callable[..., Any]] = None,
    ) -> None:
        """Register media repository callbacks. Added in Synapse v1.132.0."""
        self._callbacks.media_repository.register_callbacks(
            self._module_name,
            get_media_config_for_user=get_media_config_for_user,
            is_user_allowed_to_upload_media_of_size=is_user_allowed_to_upload_media_of_size,
            get_media_upload_limits_for_user=get_media_upload_limits_for_user,
            on_media_upload_limit_exceeded=on_media_upload_limit_exceeded,
        )

    def register_federation_callbacks(
        self,
        *,
        on_event_delivered_over_federation: Optional[Callable[..., Any]] = None,
    ) -> None:
        """Register federation callbacks. Added in Synapse v1.158.0."""
        self._callbacks.federation.register_callbacks(
            self._module_name,
            on_event_delivered_over_federation=on_event_delivered_over_federation,
        )

    def register_web_resource(self, path: str, resource: IResource) -> None:
        """Serve ``resource`` at ``path`` on every HTTP listener.

        The first registration of a path wins (later ones are logged and ignored);
        registering once listeners are built raises ``RuntimeError``.
        """
        self._host.web_resources.register(path, resource, self._module_name)

    # ------------------------------------------------------------------ properties

    @property
    def http_client(self) -> Any:
        """An outbound HTTP client (``SimpleHttpClient``). Added in Synapse v1.22.0."""
        return self._host.http_client

    @property
    def public_room_list_manager(self) -> PublicRoomListManager:
        """Manages the public room directory (not served yet). Added in Synapse v1.22.0."""
        return self._public_room_list_manager

    @property
    def account_data_manager(self) -> AccountDataManager:
        """Reads and writes global account data (not served yet). Added in Synapse v1.57.0."""
        return self._account_data_manager

    @property
    def public_baseurl(self) -> str:
        """The configured ``public_baseurl``, ending with ``/``. Added in Synapse v1.39.0."""
        return self._host.config.server.public_baseurl

    @property
    def email_app_name(self) -> str:
        """``email.app_name`` (default ``Matrix``). Added in Synapse v1.39.0."""
        return self._host.config.email.email_app_name

    @property
    def server_name(self) -> str:
        """The server name. Added in Synapse v1.53.0."""
        return self._server_name

    @property
    def worker_name(self) -> Optional[str]:
        """``None`` on the main process. Added in Synapse v1.53.0."""
        return self._host.config.server.worker_name

    @property
    def worker_app(self) -> Optional[str]:
        """``None`` on the main process. Added in Synapse v1.53.0."""
        return self._host.config.server.worker_app

    # ------------------------------------------------------------------ time and tasks

    def get_current_time_msec(self) -> int:
        """The clock's time in milliseconds."""
        return int(self._clock.seconds() * 1000)

    def should_run_background_tasks(self) -> bool:
        """Whether this process runs background tasks. Added in Synapse v1.89.0."""
        return self._host.config.server.run_background_tasks

    def looping_background_call(
        self,
        f: Callable[..., Any],
        msec: float,
        *args: object,
        desc: Optional[str] = None,
        run_on_all_instances: bool = False,
        **kwargs: object,
    ) -> None:
        """Call ``f`` every ``msec`` ms (first call after ``msec``), wrapped as a background
        process; only where background tasks run, unless ``run_on_all_instances``.
        Added in Synapse v1.39.0."""
        if desc is None:
            desc = getattr(f, "__name__", repr(f))
        if not (self.should_run_background_tasks() or run_on_all_instances):
            logger.warning("Not running looping call %s as the configuration forbids it", f)
            return
        self._host.track_looping_call(
            _background.looping_background_call(
                self._clock, f, msec, *args, desc=desc, module=self._module_name, **kwargs
            )
        )

    def delayed_background_call(
        self,
        msec: float,
        f: Callable[..., Any],
        *args: object,
        desc: Optional[str] = None,
        **kwargs: object,
    ) -> IDelayedCall:
        """Call ``f`` once after ``msec`` ms, wrapped as a background process.
        Added in Synapse v1.90.0."""
        if desc is None:
            desc = getattr(f, "__name__", repr(f))
        return _background.delayed_background_call(
            self._clock, msec, f, *args, desc=desc, module=self._module_name, **kwargs
        )

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on the host's clock. Added in Synapse v1.49.0."""
        await _background.sleep(self._clock, seconds)

    def run_as_background_process(
        self,
        desc: str,
        func: Callable[..., Awaitable[Optional[T]]],
        *args: Any,
        bg_start_span: bool = True,
        **kwargs: Any,
    ) -> "defer.Deferred[Optional[T]]":
        """Run ``func`` in the background; exceptions are logged and the result is ``None``."""
        return _background.run_as_background_process(
            desc, func, *args, module=self._module_name, **kwargs
        )

    async def defer_to_thread(self, f: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``f`` on the reactor's thread pool. Added in Synapse v1.49.0."""
        return await _background.defer_to_thread(self._clock, f, *args, **kwargs)

    async def defer_to_threadpool(
        self, threadpool: Any, f: Callable[..., T], *args: Any, **kwargs: Any
    ) -> T:
        """Run ``f`` on ``threadpool``. Added in Synapse v1.140.0."""
        return await _background.defer_to_threadpool(
            self._clock, threadpool, f, *args, **kwargs
        )

    # ------------------------------------------------------------------ caches

    def register_cached_function(self, cached_func: _cache.CachedFunction[Any]) -> None:
        """Register a ``@cached`` method (bound) under ``"<module>.<name>"``, the name used
        for invalidations from other processes. Added in Synapse v1.69.0."""
        _cache.cached_function_registry(self._host).register(cached_func)

    async def invalidate_cache(
        self, cached_func: _cache.CachedFunction[Any], keys: Tuple[Any, ...]
    ) -> None:
        """Invalidate ``keys`` in ``cached_func`` (``keys`` is always a tuple). With a single
        process there are no other workers to tell. Added in Synapse v1.69.0."""
        cached_func.invalidate(keys)

    # ------------------------------------------------------------------ database

    def run_db_interaction(
        self, desc: str, func: Callable[..., T], *args: Any, **kwargs: Any
    ) -> "defer.Deferred[T]":
        """Run ``func(txn, *args, **kwargs)`` in one transaction on the host's database
        (on the database thread when the host runs one); commit on return, roll back on
        an exception, which propagates. Added in Synapse v0.25.0."""
        return defer.ensureDeferred(
            self._host.hs.db_pool.runInteraction(desc, func, *args, **kwargs)
        )

    # ------------------------------------------------------------------ identifiers

    def get_qualified_user_id(self, username: str) -> str:
        """``username`` unchanged if it starts with ``@``, else ``@username:server_name``."""
        if username.startswith("@"):
            return username
        return "@%s:%s" % (username, self._server_name)

    def is_mine(self, id: Any) -> bool:
        """Whether a user id, room alias (string or object) belongs to this server.
        Added in Synapse v1.44.0."""
        if isinstance(id, str):
            parts = id.split(":", 1)
            return len(parts) == 2 and parts[1] == self._server_name
        return getattr(id, "domain", None) == self._server_name

    # ------------------------------------------------------------------ not yet served

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            "synapse-modhost does not provide ModuleApi.%s (used by %s); see "
            "docs/compatibility.md for what is served." % (name, self._module_name)
        )

