"""The command line: ``synapse-modhost -c homeserver.yaml``.

This module (and ``tap.py``) is where the reactor is chosen; everything else receives it.
Startup failures print one message and exit with status 1; ``--verbose`` adds the
traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from typing import Any, List, NoReturn, Optional, Sequence, TextIO

from synapse_modhost._version import __version__

__all__ = ["main", "parser", "run"]


def parser() -> argparse.ArgumentParser:
    """The argument parser (shared by ``twist synapse-modhost``)."""
    p = argparse.ArgumentParser(
        prog="synapse-modhost",
        description="Run Synapse modules from a homeserver.yaml, without Synapse.",
    )
    p.add_argument(
        "-c",
        "--config-path",
        action="append",
        metavar="CONFIG_FILE",
        help="a homeserver.yaml; repeat to merge several (later files win per top-level key)",
    )
    p.add_argument(
        "--generate-config",
        action="store_true",
        help="write a config that runs as is to the -c path, then exit",
    )
    p.add_argument("-H", "--server-name", help="server name for --generate-config")
    p.add_argument(
        "--data-directory",
        help="where --generate-config puts the database, media and log (default: a "
        "'data' directory beside the config file)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="refuse to start when a module misuses the API in a way Synapse only warns about "
        "(a web path registered twice, a path under a prefix that is never reached)",
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", help="log at DEBUG and print tracebacks"
    )
    p.add_argument("--version", action="version", version="synapse-modhost " + __version__)
    return p


def _generate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from synapse_modhost.config import generate_config, generate_log_config

    if not args.config_path or len(args.config_path) != 1:
        err.write("--generate-config needs exactly one -c CONFIG_FILE to write\n")
        return 1
    if not args.server_name:
        err.write("--generate-config needs -H SERVER_NAME (the server name, e.g. example.com)\n")
        return 1
    path = os.path.abspath(args.config_path[0])
    if os.path.exists(path):
        err.write("Config file %r already exists; not overwriting it\n" % (path,))
        return 1
    config_dir = os.path.dirname(path)
    data_dir = os.path.abspath(args.data_directory or os.path.join(config_dir, "data"))
    try:
        os.makedirs(config_dir, exist_ok=True)
        os.makedirs(data_dir, exist_ok=True)
        log_config = os.path.join(config_dir, "%s.log.config" % (args.server_name,))
        if not os.path.exists(log_config):
            with open(log_config, "w") as f:
                f.write(generate_log_config(os.path.join(data_dir, "homeserver.log")))
        text = generate_config(args.server_name, config_dir, data_dir)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
    except OSError as e:
        err.write("Cannot write the config to %r: %s\n" % (path, e.strerror or e))
        return 1
    out.write("Wrote %s (data under %s)\n" % (path, data_dir))
    return 0


def run(
    argv: Optional[Sequence[str]] = None,
    *,
    reactor: Any = None,
    out: Optional[TextIO] = None,
    err: Optional[TextIO] = None,
    setup_logs: bool = True,
    resume_gc: bool = False,
) -> int:
    """Run the host until it is stopped; the exit status.

    ``reactor`` and ``setup_logs=False`` let tests run it in memory. ``resume_gc``: the
    caller paused the cyclic garbage collector for start-up; turn it back on once the
    listeners are up.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    args = parser().parse_args(argv)
    if args.generate_config:
        return _generate(args, out, err)
    if not args.config_path:
        err.write("synapse-modhost: -c CONFIG_FILE is required (see --help)\n")
        return 1

    from synapse_modhost import build_host
    from synapse_modhost.host import format_startup_error
    from synapse_modhost.logging_setup import setup_logging

    def fail(e: BaseException) -> int:
        err.write(format_startup_error(e) + "\n")
        if args.verbose:
            traceback.print_exception(type(e), e, e.__traceback__, file=err)
        else:
            # With a log config at DEBUG the traceback goes to the log instead.
            logging.getLogger("synapse_modhost.cli").debug(
                "Start-up failed", exc_info=(type(e), e, e.__traceback__)
            )
        return 1

    from synapse_modhost.config import ConfigError, read_config

    try:
        config = read_config(args.config_path)
        if setup_logs:
            setup_logging(config, verbose=args.verbose)
        if reactor is None:
            from synapse_modhost._lean_imports import import_global_reactor

            reactor = import_global_reactor()
        host = build_host(config, reactor, strict=args.strict)
    except ConfigError as e:
        return fail(e)

    status: List[int] = [0]

    def start() -> None:
        d = host.start()

        def started(_: Any) -> None:
            # As Synapse does once it is up: what start-up built lives for the whole run,
            # so keep the collector from scanning it again and again.
            import gc

            gc.freeze()
            if resume_gc:
                gc.enable()

        def failed(f: Any) -> None:
            status[0] = fail(f.value)
            reactor.stop()

        d.addCallbacks(started, failed)

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", host.stop)
    reactor.run()
    return status[0]


def main(argv: Optional[Sequence[str]] = None) -> NoReturn:
    """Console-script entry point."""
    from synapse_modhost._deferred_imports import defer_unused_imports

    defer_unused_imports()  # before Twisted, which imports the modules it defers

    import gc

    from synapse_modhost._http2 import disable_http2_server
    from synapse_modhost._lean_imports import import_twisted_win32

    import_twisted_win32()  # before anything imports Twisted's filepath

    # Start-up creates tens of thousands of long-lived objects (modules, classes, the
    # config) and almost no garbage: collecting while it runs costs ~5 % of start-up
    # for nothing. The collector resumes once the listeners are up (see run()).
    resume = gc.isenabled()
    gc.disable()
    disable_http2_server()
    sys.exit(run(argv, resume_gc=resume))
