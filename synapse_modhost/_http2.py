"""Keep Twisted's HTTP/2 server support out of the processes the host owns.

``twisted.web.http`` imports ``twisted.web._http2`` (and with it h2 and hpack, about
50 ms and a few MiB) whenever the h2 package is installed, which a Matrix client library
in the same environment pulls in. Twisted only negotiates HTTP/2 over TLS, and the host
serves no TLS listener, so the command line and the test kit turn it off before
twisted.web is first imported. Library users who import twisted.web themselves are not
affected.
"""

from __future__ import annotations

import sys

__all__ = ["disable_http2_server"]


def disable_http2_server() -> None:
    """Make ``twisted.web.http`` find no HTTP/2 support (only if it is not loaded yet)."""
    if "twisted.web.http" not in sys.modules:
        sys.modules.setdefault("twisted.web._http2", None)  # type: ignore[arg-type]
