"""``ModuleHost``: owns the config, the reactor, the callbacks and the web sites.

Start order follows Synapse's (LOADING.md §3): module classes are imported and their
``parse_config`` run when the host is built; on start, modules are constructed in
``modules:`` order (then legacy modules), then each HTTP listener's resource tree is
built (which consumes module web resources) and bound.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from twisted.internet import defer
from twisted.internet.interfaces import IListeningPort
from twisted.web.resource import IResource

from synapse_modhost._module_resources import ModuleWebResources
from synapse_modhost.callbacks import ModuleCallbacks
from synapse_modhost.config import ConfigError, HomeServerConfig
from synapse_modhost.legacy_loading import load_legacy_modules, prepare_legacy_modules
from synapse_modhost.loading import (
    ModuleStartupError,
    PreparedModule,
    construct_module,
    prepare_module,
    prepare_modules,
)
from synapse_modhost.module_api import ModuleApi

__all__ = ["ListenError", "LoadedModule", "ModuleHost", "StartupError"]

logger = logging.getLogger("synapse_modhost.host")

#: Synapse's MAX_REQUEST_SIZE: the body limit when the media repository is off.
MAX_REQUEST_SIZE = 200 * 65536


class StartupError(Exception):
    """The host could not start; the message says why."""


class ListenError(StartupError):
    """A listener could not be bound."""


class LoadedModule:
    """A constructed module with its own ``ModuleApi``."""

    def __init__(self, prepared: PreparedModule, api: ModuleApi, instance: Any) -> None:
        self.prepared = prepared
        self.api = api
        self.instance = instance

    @property
    def name(self) -> str:
        return self.prepared.name

    def __repr__(self) -> str:
        return "<LoadedModule %s %r>" % (self.name, self.instance)


class ModuleHost:
    """The whole host: build it with a config and a reactor, then ``start()``; ``stop()``
    undoes it. (``tap.py`` wraps it in a twisted.application service for ``twist``;
    the host itself stays free of twisted.application, which costs start-up time.)"""

    def __init__(
        self,
        config: HomeServerConfig,
        reactor: Any,
        *,
        strict: bool = False,
        database_threaded: Optional[bool] = None,
    ) -> None:
        """``database_threaded``: run database transactions on a database thread (what
        ``run_db_interaction`` promises modules); default: when the reactor has threads
        (a ``MemoryReactorClock`` has none, so in-memory tests run them inline)."""
        self.config = config
        self.reactor = reactor
        self.strict = strict
        if database_threaded is None:
            from twisted.internet.interfaces import IReactorThreads

            database_threaded = IReactorThreads.providedBy(reactor)
        self.database_threaded: bool = bool(database_threaded)
        #: the storage engine and the stand-in, from :meth:`start` on
        self.engine: Optional[Any] = None
        self._hs: Optional[Any] = None
        self.callbacks = ModuleCallbacks(reactor)
        self.web_resources = ModuleWebResources()
        self.modules: List[LoadedModule] = []
        #: tag -> site, filled by :meth:`build_sites`
        self.sites: Dict[str, Any] = {}
        self.listening_ports: List[IListeningPort] = []
        self._looping_calls: List[Any] = []
        self._http_client: Optional[Any] = None
        self._started: Optional[defer.Deferred[None]] = None
        if config.unused_keys:
            logger.info(
                "Configuration keys synapse-modhost does not use (accepted and ignored): %s",
                ", ".join(config.unused_keys),
            )
        #: module classes imported and configured (ConfigError on failure)
        self.prepared_modules: List[PreparedModule] = prepare_modules(config)
        self._prepared_legacy = prepare_legacy_modules(config)

    # ------------------------------------------------------------------ services for ModuleApi

    @property
    def http_client(self) -> Any:
        """The shared outbound client, built on first use (treq loads lazily)."""
        if self._http_client is None:
            from synapse_modhost.module_api import SimpleHttpClient

            self._http_client = SimpleHttpClient(self.reactor)
        return self._http_client

    @http_client.setter
    def http_client(self, client: Any) -> None:
        """Replace the outbound client (the test kit's stub does), before modules load."""
        self._http_client = client

    def track_looping_call(self, handle: Any) -> None:
        """Remember a looping call so that stopping the host stops it."""
        self._looping_calls.append(handle)

    def module_api(self, module_name: str) -> ModuleApi:
        """A new ``ModuleApi`` attributed to ``module_name``."""
        return ModuleApi(self, module_name)

    # ------------------------------------------------------------------ start

    def load_modules(self) -> None:
        """Construct every module in ``modules:`` order (then the legacy ones)."""
        for prepared in self.prepared_modules:
            api = self.module_api(prepared.name)
            instance = construct_module(prepared, api)
            self.modules.append(LoadedModule(prepared, api, instance))
        self._load_legacy_modules()
        if self.strict and self.web_resources.problems:
            raise StartupError(
                "--strict: modules misused the API:\n"
                + "\n".join("  " + p for p in self.web_resources.problems)
            )

    def _load_legacy_modules(self) -> None:
        self.modules.extend(load_legacy_modules(self, self._prepared_legacy))

    def build_sites(self) -> Dict[str, Any]:
        """Build one Site per HTTP listener; module resources are consumed here.

        Each listener's tree is assembled as Synapse assembles it (LOADING.md §4.2):
        ``/health``, the named resources, ``additional_resources``, then every module
        resource; the first listener built consumes the module resources.
        """
        from synapse_modhost.homeserver import named_resources
        from synapse_modhost.web import SynapseSite, build_listener_root

        module_resources: Optional[Dict[str, IResource]] = None
        for listener in self.config.server.listeners:
            if listener.type != "http":
                logger.info(
                    "Listener %s has type %r: synapse-modhost only serves http listeners",
                    listener.tag,
                    listener.type,
                )
                continue
            named: Dict[str, IResource] = {}
            for group in listener.resources:
                for name in group.names:
                    named.update(named_resources(self, name))
            additional = {e.path: self._additional_resource(e) for e in listener.additional_resources}
            if module_resources is None:
                module_resources = self.web_resources.consume()
            root = build_listener_root(
                named,
                additional,
                module_resources,
                web_client_location=self.config.server.web_client_location,
            )
            self.sites[listener.tag] = SynapseSite(
                listener.tag,
                self.config.server.server_name,
                root,
                self.reactor,
                x_forwarded=listener.x_forwarded,
                max_request_body_size=self.max_request_body_size,
            )
        if module_resources is None:
            self.web_resources.consume()
        return self.sites

    @property
    def max_request_body_size(self) -> int:
        media = self.config.media
        if media.enable_media_repo:
            return max(MAX_REQUEST_SIZE, media.max_upload_size)
        return MAX_REQUEST_SIZE

    def _additional_resource(self, extra: Any) -> IResource:
        from synapse_modhost.web import wrap_additional_resource

        prepared = prepare_module(extra.module, extra.config, extra.config_path)
        handler = construct_module(prepared, self.module_api(extra.module))
        resource = wrap_additional_resource(handler, clock=self.reactor)
        if resource is None:
            raise ConfigError(
                "additional_resource %s does not implement a known interface" % (extra.module,),
                extra.config_path,
            )
        return resource

    async def _listen(self) -> None:
        # reactor.listenTCP rather than endpoints.serverFromString: importing
        # twisted.internet.endpoints alone costs ~25 ms of a ~250 ms start, and every
        # listener here is plain TCP on an address (the config refuses anything else).
        for listener in self.config.server.listeners:
            site = self.sites.get(listener.tag)
            if site is None:
                continue
            addresses = listener.bind_addresses
            for address in addresses:
                try:
                    port = self.reactor.listenTCP(listener.port, site, interface=address)
                except Exception as e:
                    if address == "0.0.0.0" and "::" in addresses and _addr_in_use(e):
                        # '::' is usually dual-stack: it already took the IPv4 side.
                        logger.info("Not binding 0.0.0.0:%d: '::' covers it", listener.port)
                        continue
                    raise ListenError(
                        "cannot listen on %s port %d (%s): %s"
                        % (
                            address,
                            listener.port,
                            ".".join(listener.config_path) or listener.tag,
                            _listen_error_text(e),
                        )
                    ) from e
                self.listening_ports.append(port)
                host = port.getHost()
                logger.info(
                    "synapse-modhost now listening on TCP port %d (%s, listener %s)",
                    host.port,
                    host.host,
                    listener.tag,
                )

    @property
    def hs(self) -> Any:
        """The homeserver stand-in (stores and handlers); exists once the database is open."""
        if self._hs is None:
            raise RuntimeError("the host's database is not open yet: call start() first")
        return self._hs

    async def open_database(self) -> None:
        """Open (creating on first start) the database and bring its schema up to date."""
        if self.engine is None:
            await self._begin_opening_database()

    def _begin_opening_database(self) -> "defer.Deferred[None]":
        """Open the connection now and bring the schema up to date (on the database
        thread when there is one); the Deferred fires once it is."""
        from synapse_modhost.homeserver import HomeServer
        from synapse_modhost.storage import SqliteEngine, StorageError, apply_migrations

        path = self.config.database.database

        def startup_error(e: BaseException) -> StartupError:
            return StartupError(
                "cannot open the database %r (database.args.database): %s" % (path, e)
            )

        engine = SqliteEngine(
            self.reactor,
            path,
            threaded=self.database_threaded,
            server_name=self.config.server.server_name,
        )
        try:
            engine.start()
        except StorageError as e:
            raise startup_error(e) from e
        self.engine = engine
        self._hs = HomeServer(self, engine)

        def failed(f: Any) -> None:
            f.trap(StorageError)
            raise startup_error(f.value) from f.value

        migrated: defer.Deferred[None] = apply_migrations(engine).addCallbacks(
            lambda _: None, failed
        )
        return migrated

    async def _start(self, listen: bool) -> None:
        try:
            # The schema is up to date before any module is constructed, as on Synapse:
            # a constructor's run_db_interaction sees every table.
            if self.engine is None:
                migrated = self._begin_opening_database()
                # SQLite creates or checks the schema with the GIL released: import the
                # web layer build_sites() needs meanwhile (a few ms off every start).
                _import_web_layer()
                await migrated
            self.load_modules()
            self.build_sites()
            if listen:
                await self._listen()
        except BaseException:
            await self._stop_listening()
            self._stop_looping_calls()
            await self._close_database()
            raise
        logger.info(
            "synapse-modhost ready: %d module(s), %d callback(s), %d module path(s)",
            len(self.modules),
            len(self.callbacks.registered()),
            len(self.web_resources.items()),
        )

    def start(self, *, listen: bool = True) -> "defer.Deferred[None]":
        """Construct modules, build the sites and (by default) bind every listener.

        Fails with ``ModuleStartupError``, ``ConfigError`` or ``ListenError``; on failure
        nothing stays bound. Calling it again returns the same Deferred.
        """
        if self._started is None:
            self._started = defer.ensureDeferred(self._start(listen))
        return self._started

    # ------------------------------------------------------------------ stop

    async def _stop_listening(self) -> None:
        ports, self.listening_ports = self.listening_ports, []
        for port in ports:
            await defer.maybeDeferred(port.stopListening)

    async def _close_database(self) -> None:
        engine, self.engine = self.engine, None
        if engine is not None:
            await engine.close()

    def _stop_looping_calls(self) -> None:
        calls, self._looping_calls = self._looping_calls, []
        for handle in calls:
            try:
                handle.stop()
            except Exception:  # already stopped
                pass

    def stop(self) -> "defer.Deferred[None]":
        """Stop listening, stop module looping calls, close the outbound client."""

        async def stop() -> None:
            await self._stop_listening()
            self._stop_looping_calls()
            if self._http_client is not None:
                client, self._http_client = self._http_client, None
                close = getattr(client, "close", None)
                if close is not None:
                    await close()
            await self._close_database()

        return defer.ensureDeferred(stop())


def _import_web_layer() -> None:
    """Import what :meth:`ModuleHost.build_sites` uses (the names are not needed here)."""
    import synapse_modhost.homeserver.rest
    import synapse_modhost.web  # noqa: F401


def _addr_in_use(e: BaseException) -> bool:
    return "Address already in use" in str(e) or "in use" in str(getattr(e, "socketError", ""))


def _listen_error_text(e: BaseException) -> str:
    socket_error = getattr(e, "socketError", None)
    if socket_error is not None:
        return getattr(socket_error, "strerror", None) or str(socket_error)
    return str(e)


def format_startup_error(e: BaseException) -> str:
    """The one message the command line prints for a startup failure."""
    from synapse_modhost.config import config_error_text

    if isinstance(e, ConfigError):
        return config_error_text(e).rstrip("\n")
    if isinstance(e, (ModuleStartupError, StartupError)):
        return "Error during startup: %s" % (e,)
    return "Error during startup: %s: %s" % (type(e).__name__, e)

