"""Listener assembly and create_resource_tree (LOADING.md §4.2–§4.4, HTTP.md §2, §7)."""

from __future__ import annotations

import ast

from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource

from synapse_modhost.web import (
    HealthResource,
    OptionsResource,
    ResourceTreeConflictError,
    RootOptionsRedirectResource,
    SynapseRequest,
    UnrecognizedRequestResource,
    build_listener_resources,
    build_listener_root,
    create_resource_tree,
    make_root_resource,
)
from tests.web._http import CORS, Response, get, make_site

UNRECOGNIZED = {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}


class _Probe(Resource):
    """A module resource that reports prepath/postpath."""

    def __init__(self, name: str, leaf: bool = False):
        super().__init__()
        self.name = name
        self.isLeaf = leaf

    def render_GET(self, request: SynapseRequest) -> bytes:
        return repr((self.name, request.prepath, request.postpath)).encode()


def _assert_twisted_404(test: SynchronousTestCase, response: Response) -> None:
    test.assertEqual(response.code, 404)
    test.assertEqual(response.header(b"content-type"), b"text/html; charset=utf-8")
    test.assertIn(b"No Such Resource", response.body)


def _assert_json_404(test: SynchronousTestCase, response: Response) -> None:
    test.assertEqual(response.code, 404)
    test.assertEqual(response.json(), UNRECOGNIZED)
    test.assertEqual(response.header(b"content-type"), b"application/json")
    for name, value in CORS.items():
        test.assertEqual(response.header(name), value)


class CreateResourceTreeTests(SynchronousTestCase):
    def test_dummy_intermediate_nodes(self) -> None:
        """Intermediate segments become UnrecognizedRequestResource nodes; the leaf is put as the last segment."""
        r = Resource()
        root = create_resource_tree({"/_synapse/client/lab": r}, Resource())
        synapse = root.children[b"_synapse"]
        self.assertIsInstance(synapse, UnrecognizedRequestResource)
        client = synapse.children[b"client"]
        self.assertIsInstance(client, UnrecognizedRequestResource)
        self.assertIs(client.children[b"lab"], r)

    def test_shared_intermediate_nodes(self) -> None:
        """Two paths under the same prefix share the dummy node created for the first."""
        a, b = Resource(), Resource()
        root = create_resource_tree({"/x/a": a, "/x/b": b}, Resource())
        self.assertEqual(sorted(root.children[b"x"].children), [b"a", b"b"])

    def test_mounting_under_earlier_resource(self) -> None:
        """A path below an earlier mounted resource puts the child onto that resource."""
        parent, child = Resource(), Resource()
        root = create_resource_tree({"/p": parent, "/p/c": child}, Resource())
        self.assertIs(root.children[b"p"], parent)
        self.assertIs(parent.children[b"c"], child)

    def test_replacing_dummy_steals_children(self) -> None:
        """Registering /_matrix after /_matrix/client makes the new resource the parent of client."""
        client, matrix = Resource(), Resource()
        root = create_resource_tree({"/_matrix/client": client, "/_matrix": matrix}, Resource())
        self.assertIs(root.children[b"_matrix"], matrix)
        self.assertIs(matrix.children[b"client"], client)

    def test_foreign_intermediate_child_is_an_error(self) -> None:
        """Passing through a child the tree did not create raises a KeyError subclass naming the path."""
        well_known = Resource()
        well_known.putChild(b"matrix", Resource())
        with self.assertRaises(KeyError) as cm:
            create_resource_tree(
                {"/.well-known": well_known, "/.well-known/matrix/foo": Resource()}, Resource()
            )
        self.assertIsInstance(cm.exception, ResourceTreeConflictError)
        self.assertIn("/.well-known/matrix/foo", str(cm.exception))
        self.assertIn("b'matrix'", str(cm.exception))

    def test_no_leading_slash_drops_first_segment(self) -> None:
        """'foo/bar' is mounted at /bar."""
        r = Resource()
        root = create_resource_tree({"foo/bar": r}, Resource())
        self.assertEqual(list(root.children), [b"bar"])
        self.assertIs(root.children[b"bar"], r)

    def test_root_path_and_double_and_trailing_slash(self) -> None:
        """'/' is child b'' of the root; '/a//b' and '/a/b/' create empty-named segments."""
        slash, ab, trailing = Resource(), Resource(), Resource()
        root = create_resource_tree({"/": slash, "/a//b": ab, "/c/d/": trailing}, Resource())
        self.assertIs(root.children[b""], slash)
        a = root.children[b"a"]
        self.assertIsInstance(a, UnrecognizedRequestResource)
        self.assertIs(a.children[b""].children[b"b"], ab)
        d = root.children[b"c"].children[b"d"]
        self.assertIsInstance(d, UnrecognizedRequestResource)
        self.assertIs(d.children[b""], trailing)

    def test_returns_root(self) -> None:
        """create_resource_tree returns the root it was given."""
        root = Resource()
        self.assertIs(create_resource_tree({}, root), root)


class ListenerAssemblyTests(SynchronousTestCase):
    def test_order_and_overwrite_in_place(self) -> None:
        """/health first, then named, additional, module; a later duplicate replaces in place."""
        named = {"/_matrix/client": Resource(), "/_synapse/client/dup": Resource()}
        additional = {"/_synapse/client/dup": Resource(), "/_custom": Resource()}
        module = {"/_synapse/client/dup": Resource(), "/_lab": Resource()}
        resources = build_listener_resources(named, additional, module)
        self.assertEqual(
            list(resources),
            ["/health", "/_matrix/client", "/_synapse/client/dup", "/_custom", "/_lab"],
        )
        self.assertIsInstance(resources["/health"], HealthResource)
        self.assertIs(resources["/_synapse/client/dup"], module["/_synapse/client/dup"])

    def test_module_may_replace_health(self) -> None:
        """A module resource at /health replaces the built-in health resource."""
        mine = Resource()
        self.assertIs(build_listener_resources({}, {}, {"/health": mine})["/health"], mine)

    def test_root_choice(self) -> None:
        """web_client_location wins, else /_matrix/static redirect, else a plain OptionsResource."""
        with_loc = make_root_resource({}, "https://app.example")
        self.assertIsInstance(with_loc, RootOptionsRedirectResource)
        self.assertEqual(with_loc.url, "https://app.example")
        static = make_root_resource({"/_matrix/static": Resource()})
        self.assertIsInstance(static, RootOptionsRedirectResource)
        self.assertEqual(static.url, "/_matrix/static")
        plain = make_root_resource({})
        self.assertIs(type(plain), OptionsResource)


class TraversalTests(SynchronousTestCase):
    """The LOADING.md §4.4 table, through a real site."""

    def setUp(self) -> None:
        modules = {
            "/_synapse/client/lab": _Probe("lab"),
            "/_synapse/client/labslash/": _Probe("labslash"),
            "/_lab/leaf": _Probe("leaf", leaf=True),
            "/_lab/notleaf": _Probe("notleaf"),
            "/_lab/notleaf/child": _Probe("child"),
            "/_matrix/labmatrix": _Probe("labmatrix", leaf=True),
        }
        self.site, _ = make_site(build_listener_root({}, {}, modules))

    def _probe(self, path: bytes) -> tuple:
        response = get(self.site, path)
        self.assertEqual(response.code, 200, response.body)
        return ast.literal_eval(response.body.decode())

    def test_plain_module_resource(self) -> None:
        """A non-leaf module resource serves its own path with an empty postpath."""
        self.assertEqual(
            self._probe(b"/_synapse/client/lab"),
            ("lab", [b"_synapse", b"client", b"lab"], []),
        )

    def test_plain_module_subpaths_are_twisted_404(self) -> None:
        """Below a non-leaf module resource (also a trailing slash) Twisted's HTML 404 answers."""
        _assert_twisted_404(self, get(self.site, b"/_synapse/client/lab/"))
        _assert_twisted_404(self, get(self.site, b"/_synapse/client/lab/x"))

    def test_trailing_slash_registration(self) -> None:
        """A path registered with a trailing slash answers only with the slash; otherwise JSON 404."""
        self.assertEqual(self._probe(b"/_synapse/client/labslash/")[1][-1], b"")
        _assert_json_404(self, get(self.site, b"/_synapse/client/labslash"))
        _assert_json_404(self, get(self.site, b"/_synapse/client/labslash/x"))

    def test_leaf_postpath(self) -> None:
        """A leaf module resource serves every sub-path, leaving the rest in postpath."""
        self.assertEqual(self._probe(b"/_lab/leaf")[2], [])
        self.assertEqual(self._probe(b"/_lab/leaf/")[2], [b""])
        self.assertEqual(self._probe(b"/_lab/leaf/a/b")[2], [b"a", b"b"])

    def test_non_leaf_children(self) -> None:
        """A registered child of a non-leaf module resource is served; other children are Twisted 404s."""
        self.assertEqual(self._probe(b"/_lab/notleaf/child")[0], "child")
        _assert_twisted_404(self, get(self.site, b"/_lab/notleaf/other"))
        _assert_twisted_404(self, get(self.site, b"/_lab/notleaf/"))

    def test_dummy_nodes_answer_json_404(self) -> None:
        """Dummy nodes and anything below them answer 404 M_UNRECOGNIZED with CORS for any method."""
        for path in (b"/_lab", b"/_lab/", b"/_lab/nothing", b"/_matrix/x/y", b"/_synapse"):
            _assert_json_404(self, get(self.site, path))
        for method in (b"POST", b"PUT", b"DELETE"):
            _assert_json_404(self, get(self.site, b"/_lab/nothing", method=method))

    def test_new_child_of_dummy(self) -> None:
        """A module may add a new child below an existing dummy node."""
        self.assertEqual(self._probe(b"/_matrix/labmatrix/x")[0], "labmatrix")

    def test_unknown_top_level_segment(self) -> None:
        """An unknown top-level segment gets Twisted's HTML 404."""
        _assert_twisted_404(self, get(self.site, b"/nothing"))

    def test_options_anywhere(self) -> None:
        """OPTIONS on any path (module, dummy, unknown) is answered by the root: 204 + CORS."""
        for path in (b"/_synapse/client/lab", b"/_lab/nothing", b"/nothing", b"/", b"/_lab/leaf/x"):
            response = get(self.site, path, method=b"OPTIONS")
            self.assertEqual(response.code, 204)
            self.assertEqual(response.header(b"content-length"), b"0")
            self.assertEqual(response.body, b"")
            self.assertEqual(response.header(b"server"), b"Synapse/1.163.2")
            for name, value in CORS.items():
                self.assertEqual(response.header(name), value)

    def test_health(self) -> None:
        """/health answers 200 OK text/plain; /health/x a 404 JSON text with Twisted's content type."""
        ok = get(self.site, b"/health")
        self.assertEqual((ok.code, ok.body), (200, b"OK"))
        self.assertEqual(ok.header(b"content-type"), b"text/plain")
        below = get(self.site, b"/health/x")
        self.assertEqual(below.code, 404)
        self.assertEqual(below.json(), UNRECOGNIZED)
        self.assertEqual(below.header(b"content-type"), b"text/html")

    def test_root_without_redirect(self) -> None:
        """GET / without a web client or static resource is Twisted's 404."""
        _assert_twisted_404(self, get(self.site, b"/"))


class RootRedirectTests(SynchronousTestCase):
    def test_get_root_redirects(self) -> None:
        """GET / answers 302 to web_client_location."""
        site, _ = make_site(build_listener_root({}, {}, {}, web_client_location="/_matrix/static"))
        response = get(site, b"/")
        self.assertEqual(response.code, 302)
        self.assertEqual(response.header(b"location"), b"/_matrix/static")

    def test_slash_registration_beats_redirect(self) -> None:
        """A resource registered at '/' is served for GET / instead of the redirect."""
        site, _ = make_site(
            build_listener_root({}, {}, {"/": _Probe("slash")}, web_client_location="/x")
        )
        response = get(site, b"/")
        self.assertEqual(response.code, 200)
        self.assertIn(b"slash", response.body)
