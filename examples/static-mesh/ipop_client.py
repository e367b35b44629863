"""A small client of tincan's control socket (proto/PROTOCOL.md), in Python.

Owns one connection: framing (4-byte big-endian length + one ipop.Envelope),
the Hello, request ids, events read while waiting for an answer, and paged
GetState.  Knows nothing of policy: static_mesh.py is the controller built on
it, and docs/write-a-controller.md walks through both.

The message classes come from ipop_pb2, which protoc generates from
proto/ipop.proto at build time (`make python-proto`, into build/python/);
it is never checked in.  Set IPOP_PYTHON_PROTO to another directory holding
ipop_pb2.py to use a different build.
"""
import os
import socket
import struct
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get(
    "IPOP_PYTHON_PROTO", os.path.join(_HERE, "..", "..", "build", "python")))
import ipop_pb2  # noqa: E402  (generated; see the module docstring)

PROTOCOL_VERSION = 1
FRAME_MAX = 256 * 1024  # IPOP_FRAME_MAX: larger frames are refused


class TincanError(Exception):
    """A request answered with a status other than OK."""

    def __init__(self, what, resp):
        self.status = resp.status
        self.message = resp.message
        super().__init__("%s: %s: %s" % (
            what, ipop_pb2.Status.Name(resp.status) if resp.status in
            ipop_pb2.Status.values() else resp.status, resp.message))


class Closed(Exception):
    """tincan closed the connection (restart, or it refused us)."""


def request_kind(req):
    """The name of the oneof member set in an ipop.Request ("create_link")."""
    return req.WhichOneof("kind")


class Tincan:
    """One connection to tincan's control socket that has said Hello."""

    def __init__(self, path, role=ipop_pb2.CONTROLLER, name="python",
                 overlays=(), timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.next_id = 1
        self.events = []  # ipop.Event messages not yet taken by the caller
        hello = ipop_pb2.Request()
        hello.hello.protocol_version = PROTOCOL_VERSION
        hello.hello.role = role
        hello.hello.client_name = name
        if role == ipop_pb2.CONTROLLER:
            # Scoped: owns the overlays named and nothing else (§12).
            hello.hello.overlays.extend(overlays)
            hello.hello.scoped = True
        self.node = self.call(hello).hello  # HelloReply: uid, public_key

    def close(self):
        self.sock.close()

    # ---- framing ----

    def send(self, env):
        body = env.SerializeToString()
        if len(body) > FRAME_MAX:
            raise ValueError("request of %d bytes is over the frame limit" % len(body))
        self.sock.sendall(struct.pack(">I", len(body)) + body)

    def read(self):
        """The next Envelope from tincan (blocks up to the timeout).  A
        frame cut by a timeout stays buffered for the next call."""
        while True:
            if len(self.buf) >= 4:
                (n,) = struct.unpack(">I", self.buf[:4])
                if n > FRAME_MAX:
                    raise Closed("frame of %d bytes from tincan" % n)
                if len(self.buf) >= 4 + n:
                    body, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    env = ipop_pb2.Envelope()
                    env.ParseFromString(body)
                    if env.version != PROTOCOL_VERSION:
                        raise Closed("tincan speaks version %d" % env.version)
                    return env
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed("tincan closed the connection")
            self.buf += chunk

    # ---- requests ----

    def call(self, req, check=True):
        """Sends req (an ipop.Request), returns its ipop.Response.

        Events that arrive first are kept in self.events.  With check, a
        status other than OK raises TincanError."""
        env = ipop_pb2.Envelope(version=PROTOCOL_VERSION,
                                request_id=self.next_id, request=req)
        self.next_id += 1
        self.send(env)
        while True:
            got = self.read()
            if got.WhichOneof("body") == "event":
                self.events.append(got.event)
            elif got.request_id == env.request_id:
                if check and got.response.status != ipop_pb2.OK:
                    raise TincanError(request_kind(req), got.response)
                return got.response

    def poll_events(self, wait=0.0):
        """Returns the events received so far, reading for up to wait s
        (and whatever is already waiting on the socket)."""
        end = time.monotonic() + wait
        old = self.sock.gettimeout()
        try:
            while True:
                self.sock.settimeout(max(end - time.monotonic(), 0.001))
                try:
                    env = self.read()
                except socket.timeout:
                    break
                if env.WhichOneof("body") == "event":
                    self.events.append(env.event)
        finally:
            self.sock.settimeout(old)
        out, self.events = self.events, []
        return out

    def get_state(self, overlay=""):
        """The NodeState, read page by page (PROTOCOL.md §11) and joined:
        one OverlayInfo per overlay with all its mappings."""
        req = ipop_pb2.Request()
        req.get_state.overlay = overlay
        req.get_state.paged = True
        joined = None
        while True:
            page = self.call(req).state
            if joined is None:
                joined = ipop_pb2.NodeState()
                joined.CopyFrom(page)
                del joined.overlays[:]
            for part in page.overlays:
                last = joined.overlays[-1] if joined.overlays else None
                if last is not None and last.name == part.name:
                    last.mappings.extend(part.mappings)  # a later part
                else:
                    joined.overlays.add().CopyFrom(part)
            if not page.more:
                joined.more = False
                return joined
            req.get_state.cursor = page.next_cursor
