"""The baseline: bare twisted.web serving the same JSON resource as ListSpamChecker.

    python bench/bare_twisted_web.py PORT

No config, no modules: a Site, a small resource tree, one listening port.
"""

import json
import sys

from twisted.internet import reactor
from twisted.web.resource import Resource
from twisted.web.server import Site


class IsEvil(Resource):
    isLeaf = True

    def render_GET(self, request):  # type: ignore[no-untyped-def]
        user = (request.args.get(b"user") or [b""])[0].decode()
        request.setHeader(b"Content-Type", b"application/json")
        return json.dumps({"evil": user == "@mallory:bench.local"}).encode()


def main() -> None:
    root = Resource()
    node = root
    for segment in (b"_synapse", b"client", b"list_spam_checker"):
        child = Resource()
        node.putChild(segment, child)
        node = child
    node.putChild(b"is_evil", IsEvil())
    site = Site(root)
    site.log = lambda request: None  # type: ignore[method-assign]
    reactor.listenTCP(int(sys.argv[1]), site, interface="127.0.0.1")
    reactor.run()


if __name__ == "__main__":
    main()
