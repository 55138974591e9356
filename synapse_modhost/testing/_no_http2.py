"""Importing this turns off Twisted's HTTP/2 server support for the test process
(see ``synapse_modhost._http2``): the kit's in-memory site never speaks HTTP/2."""

from synapse_modhost._http2 import disable_http2_server

disable_http2_server()
