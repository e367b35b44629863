#!/usr/bin/env python3
"""Hostile and well-behaved clients against one ipop-tincan control socket.

Run by control-socket.sh with the socket path and tincan's log file as
arguments.  Frames are built by hand (4-byte big-endian length + protobuf
Envelope) so that anything can be sent, including garbage.  Prints TAP lines
("ok N - ..." / "not ok N - ...").

Besides the abuse: every request kind from both roles (an observer's
state-changing requests are DENIED and change nothing, its queries are
answered; a controller's requests all take effect), and hostile strings
(a client_name with a forged line, terminal escapes and 200 KB) that must
reach the log escaped, on one bounded line.
"""
import hashlib
import os
import socket
import struct
import sys
import time

from pbwire import field_bytes, field_varint, fields

SOCK = sys.argv[1]
LOG = sys.argv[2] if len(sys.argv) > 2 else None
N = 0
FAILED = 0


def check(ok, desc):
    global N, FAILED
    N += 1
    if not ok:
        FAILED += 1
    print(("ok" if ok else "not ok") + " %d - %s" % (N, desc), flush=True)


def envelope(body_field, body, version=1, rid=1):
    return field_varint(1, version) + field_varint(2, rid) + field_bytes(body_field, body)


def hello(role, proto=1):
    # Request { hello = 1 { protocol_version = 1, role = 2 } }
    return field_bytes(1, field_varint(1, proto) + field_varint(2, role))


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect(SOCK)
    return s


def read_frame(s):
    hdr = b""
    while len(hdr) < 4:
        chunk = s.recv(4 - len(hdr))
        if not chunk:
            return None
        hdr += chunk
    n = struct.unpack(">I", hdr)[0]
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def response_status(env):
    """(request_id, status) of an Envelope holding a Response, else None."""
    f = fields(env)
    if 11 not in f:
        return None
    resp = fields(f[11][0])
    return f.get(2, [0])[0], resp.get(1, [0])[0]


def closed(s):
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, socket.timeout):
        return False


OK, BAD_REQUEST, DENIED, VERSION_MISMATCH = 0, 1, 4, 7


def refused(payload_bytes, want_status, desc):
    s = connect()
    s.sendall(payload_bytes)
    env = read_frame(s)
    st = response_status(env) if env else None
    check(st is not None and st[1] == want_status,
          "%s: answered with status %d (got %r)" % (desc, want_status, st))
    check(closed(s), "%s: then the connection is closed" % desc)
    s.close()


def echo_works(desc):
    s = connect()
    s.sendall(frame(envelope(10, hello(2))))
    env = read_frame(s)
    st = response_status(env) if env else None
    ok = st is not None and st[1] == OK
    # Echo { data = 1 } is Request field 13.
    s.sendall(frame(envelope(10, field_bytes(13, field_bytes(1, b"ping")), rid=7)))
    env = read_frame(s)
    st = response_status(env) if env else None
    check(ok and st == (7, OK), desc)
    s.close()


# A client that stays connected through all the abuse below.
bystander = connect()
bystander.sendall(frame(envelope(10, hello(2))))
check(response_status(read_frame(bystander)) == (1, OK), "an observer says Hello")

refused(frame(b"\xff\xfe garbage \x00\x01"), BAD_REQUEST, "garbage frame")
refused(struct.pack(">I", 0x7FFFFFFF) + b"x" * 16, BAD_REQUEST,
        "length 2 GiB (refused before allocating)")
refused(frame(envelope(10, hello(2), version=9)), VERSION_MISMATCH,
        "envelope version 9")
refused(frame(envelope(10, hello(2, proto=9))), VERSION_MISMATCH,
        "Hello with protocol version 9")
# Request { remove_overlay = 3 { name = "x" } } before any Hello.
refused(frame(envelope(10, field_bytes(3, field_bytes(1, b"x")))), BAD_REQUEST,
        "a request before Hello")

# An observer may not change state.
s = connect()
s.sendall(frame(envelope(10, hello(2))))
read_frame(s)
s.sendall(frame(envelope(10, field_bytes(3, field_bytes(1, b"x")), rid=2)))
check(response_status(read_frame(s)) == (2, DENIED),
      "an observer's RemoveOverlay is DENIED")
s.close()

# A second CONTROLLER replaces the first, which is told and disconnected.
c1 = connect()
c1.sendall(frame(envelope(10, hello(1))))
check(response_status(read_frame(c1)) == (1, OK), "controller 1 says Hello")
c2 = connect()
c2.sendall(frame(envelope(10, hello(1))))
check(response_status(read_frame(c2)) == (1, OK), "controller 2 says Hello")
env = read_frame(c1)
ev = fields(fields(env)[12][0]) if env and 12 in fields(env) else {}
check(4 in ev, "controller 1 gets ControllerReplaced")
check(closed(c1), "controller 1 is disconnected")
c1.close()
c2.close()

# ---- Every request kind from both roles (PROTOCOL.md §5's role table) ----

UNSUPPORTED = 6
OBSERVER, CONTROLLER = 2, 1
ROLE_NAME = {OBSERVER: "observer", CONTROLLER: "controller"}


def fstr(num, text):
    return field_bytes(num, text.encode() if isinstance(text, str) else text)


class Client:
    """One connection that has said Hello; skips events while it waits."""

    def __init__(self, role, name=b"control-socket.py", extra=b""):
        self.s = connect()
        self.rid = 100
        self.role = role
        self.events = []  # Event messages read while waiting, as fields
        self.hello = self.call(1, field_varint(1, 1) + field_varint(2, role)
                               + fstr(3, name) + extra)

    def call(self, kind, body):
        """Sends Request{kind: body}; (status, message, result fields)."""
        self.rid += 1
        self.s.sendall(frame(envelope(10, field_bytes(kind, body), rid=self.rid)))
        deadline = time.time() + 10
        while time.time() < deadline:
            env = read_frame(self.s)
            if env is None:
                return None
            f = fields(env)
            if 12 in f:
                self.events.append(fields(f[12][0]))
            if 11 in f and f.get(2, [0])[0] == self.rid:
                r = fields(f[11][0])
                return (r.get(1, [0])[0], r.get(2, [b""])[0].decode(), r)
        return None

    def close(self):
        self.s.close()


def peer(i):
    """(uid, public key) of a made-up peer: uid = BLAKE2b-160 of the key."""
    pub = bytes((i * 7 + j) % 251 + 1 for j in range(32))
    return hashlib.blake2b(pub, digest_size=20).hexdigest(), pub


UID1, PUB1 = peer(1)
UID2, PUB2 = peer(2)


def mapping(uid, ipv4, label):
    return fstr(1, "o1") + fstr(2, uid) + fstr(3, ipv4) + fstr(8, label)


def remote_creds():
    cand = "a=candidate:1 1 UDP 2130706431 127.0.0.1 40000 typ host"
    return fstr(1, "abcd") + fstr(2, "abcdefghijklmnopqrstuvwx") + fstr(3, cand)


# Request kinds (Request field numbers) with a body that would change
# something if it were accepted.
def observer_changes():
    return [
        (2, "CreateOverlay", fstr(1, "o2") + fstr(2, "ctlo2") + field_varint(3, 1)),
        (3, "RemoveOverlay", fstr(1, "o1")),
        (4, "SetIceServers", field_bytes(1, fstr(1, "10.9.9.9") + field_varint(2, 9))),
        (5, "CreateLink", fstr(1, "o1") + fstr(2, UID2) + fstr(3, PUB2)),
        (6, "AddRemoteCandidates", fstr(1, "o1") + fstr(2, UID1) + field_bytes(3, remote_creds())),
        (8, "RemoveLink", fstr(1, "o1") + fstr(2, UID1)),
        (9, "MapPeer", mapping(UID2, "10.77.0.3", "observer")),
        (12, "SetLogLevel", fstr(1, "debug")),
    ]


QUERIES = [
    (7, "GetLocalCandidates", lambda: fstr(1, "o1") + fstr(2, UID1), None),
    (10, "GetState", lambda: b"", 11),
    (11, "GetStats", lambda: fstr(1, "o1"), 11),
    (13, "Echo", lambda: field_bytes(1, b"matrix"), 13),
    (20, "GetMetrics", lambda: b"", 20),
]


def summary(c):
    """What a request could change, from GetState: ICE servers, overlays with
    their TAP, mappings and links (not counters or link states)."""
    r = c.call(10, b"")
    if not r or r[0] != OK or 11 not in r[2]:
        return None
    st = fields(r[2][11][0])
    ovs = []
    for o in st.get(5, []):
        of = fields(o)
        links = sorted(fields(l).get(2, [b""])[0] for l in of.get(12, []))
        ovs.append((of.get(1, [b""])[0], of.get(2, [b""])[0],
                    sorted(of.get(11, [])), links))
    return (st.get(4, [b""])[0], sorted(ovs))


def log_text():
    if not LOG:
        return b""
    with open(LOG, "rb") as f:
        return f.read()


ctl = Client(CONTROLLER)
obs = Client(OBSERVER)
check(ctl.hello and ctl.hello[0] == OK and obs.hello and obs.hello[0] == OK,
      "a controller and an observer say Hello")
# The controller builds something to protect: ICE servers, an overlay, a link
# with remote candidates and a mapping.
setup = [
    (4, "SetIceServers", field_bytes(1, fstr(1, "127.0.0.1") + field_varint(2, 3478))),
    (2, "CreateOverlay", fstr(1, "o1") + fstr(2, "ctlo1") + field_varint(3, 1)
     + fstr(4, "10.77.0.1") + field_varint(5, 24)),
    (5, "CreateLink", fstr(1, "o1") + fstr(2, UID1) + fstr(3, PUB1)),
    (6, "AddRemoteCandidates", fstr(1, "o1") + fstr(2, UID1) + field_bytes(3, remote_creds())),
    (9, "MapPeer", mapping(UID1, "10.77.0.2", "peer one")),
]
for kind, name, body in setup:
    r = ctl.call(kind, body)
    check(r is not None and r[0] == OK,
          "controller's %s is done (got %r)" % (name, r and r[:2]))
before = summary(ctl)
check(before is not None and len(before[1]) == 1 and before[1][0][3] == [UID1.encode()]
      and len(before[1][0][2]) == 1,
      "GetState shows the overlay, its link and its mapping")

for kind, name, body in observer_changes():
    r = obs.call(kind, body)
    check(r is not None and r[0] == DENIED and name in r[1] and "CONTROLLER" in r[1],
          "observer's %s is DENIED with a message naming it (got %r)" % (name, r and r[:2]))
    after = summary(ctl)
    check(after == before, "observer's %s changed nothing" % name)
r = obs.call(13, field_bytes(1, b"still here"))
check(r is not None and r[0] == OK, "the observer's connection stays open after the denials")
# The denied SetLogLevel debug did not lower the level (tincan runs at info):
# a new connection is logged at debug and must not show.
Client(OBSERVER).close()
time.sleep(0.3)
check(LOG is not None and b"[debug]" not in log_text()
      and b"log level set to debug" not in log_text(),
      "after the observer's SetLogLevel debug, tincan still logs at info")

for role, c in ((OBSERVER, obs), (CONTROLLER, ctl)):
    for kind, name, body, result in QUERIES:
        r = c.call(kind, body())
        ok = r is not None and r[0] == OK and (result is None or result in r[2])
        check(ok, "%s's %s is answered (got %r)" % (ROLE_NAME[role], name, r and r[:2]))
    r = c.call(1, field_varint(1, 1) + field_varint(2, role))
    check(r is not None and r[0] == BAD_REQUEST,
          "%s's second Hello is BAD_REQUEST" % ROLE_NAME[role])
    r = c.call(99, b"")
    check(r is not None and r[0] == UNSUPPORTED,
          "%s's unknown request kind 99 is UNSUPPORTED" % ROLE_NAME[role])
check(summary(ctl) == before, "the queries changed nothing")

# The controller may send every state-changing kind, and each takes effect.
r = ctl.call(12, fstr(1, "debug"))
time.sleep(0.2)
check(r is not None and r[0] == OK and b"log level set to debug" in log_text(),
      "controller's SetLogLevel debug is done")
r = ctl.call(12, fstr(1, "info"))
check(r is not None and r[0] == OK, "controller's SetLogLevel info is done")
# (AddRemoteCandidates was done in the setup above.)
changes = dict((k, (name, body)) for k, name, body in observer_changes())
for kind in (4, 2, 5, 9, 8, 3):
    name, body = changes[kind]
    r = ctl.call(kind, body)
    now = summary(ctl)
    check(r is not None and r[0] == OK and now is not None and now != before,
          "controller's %s is done and changes the state (got %r)" % (name, r and r[:2]))
    before = now
r = ctl.call(3, fstr(1, "o2"))
check(r is not None and r[0] == OK and summary(ctl)[1] == [],
      "controller's RemoveOverlay of the last overlay leaves none")
obs.close()
ctl.close()

# ---- Hostile strings reach the log escaped, one event per line ----

ESC = b"\x1b[31m"
hostile = b"evil\n[forged] tincan[message] control: root logged in" + ESC + b"A" * (200 * 1024)
h = Client(OBSERVER, name=hostile)
check(h.hello is not None and h.hello[0] == OK, "a client named with a newline, ESC and 200 KB says Hello")
h.close()
c = Client(CONTROLLER)
r = c.call(2, fstr(1, "x\n[forged2] y" + "\x1b]0;title\x07") + fstr(2, "ctlx") + field_varint(3, 1))
check(r is not None and r[0] == BAD_REQUEST, "a CreateOverlay with a hostile name is refused")
c.close()
time.sleep(0.3)
text = log_text()
lines = text.split(b"\n")
check(LOG is not None and not any(l.lstrip().startswith(b"[forged") for l in lines),
      "no forged line in tincan's log")
check(b"\x1b" not in text and b"\x07" not in text, "no raw ESC or BEL in tincan's log")
longest = max(len(l) for l in lines)
check(longest <= 1024, "no log line over 1024 bytes (longest %d)" % longest)
check(b"evil\\x0a[forged] tincan[message]" in text and b"\\x1b[31m" in text
      and ("\u2026(%d bytes)" % len(hostile)).encode() in text,
      "the hostile client_name is logged escaped and cut with its length")
check(b"x\\x0a[forged2] y\\x1b]0;title\\x07" in text, "the hostile overlay name is logged escaped")

# ---- Ownership per overlay (PROTOCOL.md §12) ----

NOT_FOUND = 2
CLAIM, RELEASE = 22, 23


def owner_of(*names):
    """Hello fields of a controller that owns names (scoped)."""
    return b"".join(fstr(10, n) for n in names) + field_varint(11, 1)


def overlay_req(name, tap):
    return fstr(1, name) + fstr(2, tap) + field_varint(3, 1)


def names(c):
    st = summary(c)
    return [o[0].decode() for o in st[1]] if st else None


def denied(r, *words):
    return (r is not None and r[0] == DENIED
            and all(w in r[1] for w in words))


a = Client(CONTROLLER, b"owner-a", owner_of("own-a"))
b = Client(CONTROLLER, b"owner-b", owner_of("own-b"))
check(a.hello and a.hello[0] == OK and b.hello and b.hello[0] == OK,
      "two scoped controllers say Hello, each claiming one overlay")
r1 = a.call(2, overlay_req("own-a", "ctlowna"))
r2 = b.call(2, overlay_req("own-b", "ctlownb"))
check(r1 and r1[0] == OK and r2 and r2[0] == OK,
      "each creates the overlay it claimed before it existed")
before = summary(a)
for kind, name, body in [
        (3, "RemoveOverlay", fstr(1, "own-a")),
        (5, "CreateLink", fstr(1, "own-a") + fstr(2, UID2) + fstr(3, PUB2)),
        (9, "MapPeer", fstr(1, "own-a") + fstr(2, UID2) + fstr(3, "10.78.0.2"))]:
    r = b.call(kind, body)
    check(denied(r, name, "own-a", "owner-a"),
          "controller B's %s on A's overlay is DENIED naming the owner (got %r)"
          % (name, r and r[:2]))
check(summary(a) == before, "B's denied requests changed nothing")
r = a.call(2, overlay_req("own-c", "ctlownc"))
check(denied(r, "own-c", "claim it first"),
      "a scoped controller may not create an overlay it did not claim (got %r)"
      % (r and r[:2],))
r = a.call(3, fstr(1, "evil\n[forged3] y\x1b[31m"))
time.sleep(0.2)
text = log_text()
check(denied(r, "evil\\x0a[forged3]") and b"\x1b" not in text
      and not any(l.lstrip().startswith(b"[forged3") for l in text.split(b"\n")),
      "a denied hostile overlay name is answered and logged escaped (got %r)" % (r and r[:2],))
r = a.call(12, fstr(1, "info"))
check(r is not None and r[0] == OK, "a scoped controller may send node-wide SetLogLevel")
r = a.call(10, b"")
check(r is not None and r[0] == OK and set(names(a)) == {"own-a", "own-b"},
      "a scoped controller's GetState still shows every overlay")

c = Client(CONTROLLER, b"owner-c", field_varint(11, 1))
r = c.call(CLAIM, fstr(1, "own-b"))
check(r is not None and r[0] == OK, "a third controller claims B's overlay")
r = b.call(13, field_bytes(1, b"still"))
taken = [e[5][0] for e in b.events if 5 in e]
check(r is not None and r[0] == OK and taken
      and fields(taken[0]).get(1) == [b"own-b"],
      "B is told with OverlayTaken naming own-b and stays connected")
r = b.call(3, fstr(1, "own-b"))
check(denied(r, "own-b", "owner-c"), "B may no longer change own-b")
check(not [e for e in a.events if 5 in e], "A, whose overlay was not taken, is told nothing")
r = c.call(9, fstr(1, "own-b") + fstr(2, UID2) + fstr(3, "10.79.0.2"))
check(r is not None and r[0] == OK, "the new owner changes own-b")

r = a.call(RELEASE, fstr(1, "own-b"))
check(r is not None and r[0] == NOT_FOUND, "releasing an overlay one does not own is NOT_FOUND")
r = a.call(RELEASE, fstr(1, "own-a"))
check(r is not None and r[0] == OK, "A releases own-a")
r = a.call(3, fstr(1, "own-a"))
check(denied(r, "own-a", "no controller owns it"),
      "after its release A may not change own-a")
r = a.call(CLAIM, fstr(1, "own-a"))
check(r is not None and r[0] == OK, "A claims own-a again")
a.close()
time.sleep(0.2)
check("own-a" in names(c), "own-a keeps running after its controller disconnects")
d = Client(CONTROLLER, b"owner-d", owner_of("own-a"))
r = d.call(3, fstr(1, "own-a"))
check(d.hello[0] == OK and r is not None and r[0] == OK,
      "a new controller claims the orphaned overlay and may remove it")

# Old clients: a Hello that claims nothing is the whole-node controller.
w1 = Client(CONTROLLER, b"whole-1")
r = w1.call(2, overlay_req("legacy", "ctllegacy"))
check(r is not None and r[0] == OK, "a whole-node controller creates an overlay nobody claimed")
r = w1.call(3, fstr(1, "own-b"))
check(denied(r, "own-b", "owner-c"), "but may not change an overlay a scoped controller claimed")
w2 = Client(CONTROLLER, b"whole-2")
env = read_frame(w1.s)
ev = fields(fields(env)[12][0]) if env and 12 in fields(env) else {}
check(4 in ev and closed(w1.s),
      "a second whole-node controller replaces the first (ControllerReplaced, disconnected)")
r = c.call(13, b"")
check(r is not None and r[0] == OK and not any(4 in e for e in c.events),
      "the scoped controller is not replaced by a whole-node one")
r = w2.call(3, fstr(1, "legacy"))
check(r is not None and r[0] == OK, "the new whole-node controller owns the unclaimed overlay")
r = w2.call(CLAIM, fstr(1, "own-b"))
c.call(13, b"")
check(r is not None and r[0] == OK and any(5 in e for e in c.events),
      "a whole-node controller may claim an overlay back; the scoped owner is told")
r = w2.call(3, fstr(1, "own-b"))
check(r is not None and r[0] == OK, "and then change it")
for cl in (b, c, d, w1, w2):
    cl.close()

refused(frame(envelope(10, field_bytes(1, field_varint(1, 1) + field_varint(2, 2)
                                       + fstr(10, "x")))),
        BAD_REQUEST, "an OBSERVER that claims an overlay")
refused(frame(envelope(10, field_bytes(1, field_varint(1, 1) + field_varint(2, 1)
                                       + fstr(10, "bad name/")))),
        BAD_REQUEST, "a claim of an overlay name that is not a name")

echo_works("tincan still answers a new client's Echo")
bystander.sendall(frame(envelope(10, field_bytes(13, field_bytes(1, b"x")), rid=9)))
# It has the events of the role matrix's links queued before its answer.
st = None
for _ in range(1000):
    env = read_frame(bystander)
    st = response_status(env) if env else None
    if env is None or st is not None:
        break
check(st == (9, OK), "the observer connected all along is still served")
bystander.close()

print("1..%d" % N)
sys.exit(1 if FAILED else 0)
