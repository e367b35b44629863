#!/usr/bin/env python3
"""The control socket at scale and with bad text, against one ipop-tincan.

Run by control-socket.sh with the socket path, tincan's log and ipopctl.
Strings with a NUL or invalid UTF-8 are refused with BAD_REQUEST naming the
field; 100,000 mappings are created over one connection (pipelined in
batches) and read back whole with paged GetState, by hand and by `ipopctl
status --json`; an old-style empty GetState on that state is answered
TOO_BIG instead of silence; 500 idle connections do not stop `ipopctl
status`.  Prints TAP lines and "# figure:" lines with the timings.
"""
import hashlib
import json
import socket
import struct
import subprocess
import sys
import time

from pbwire import field_bytes as fb, field_varint as fv, fields

SOCK = sys.argv[1]
LOG = sys.argv[2]
IPOPCTL = sys.argv[3]
N = 0
FAILED = 0
OK, BAD_REQUEST, TOO_BIG = 0, 1, 8
CONTROLLER, OBSERVER = 1, 2
MAPPINGS = 100000


def check(ok, desc):
    global N, FAILED
    N += 1
    if not ok:
        FAILED += 1
    print(("ok" if ok else "not ok") + " %d - %s" % (N, desc), flush=True)


def figure(text):
    print("# figure: " + text, flush=True)


def frame(rid, kind, body):
    env = fv(1, 1) + fv(2, rid) + fb(10, fb(kind, body))
    return struct.pack(">I", len(env)) + env


class Client:
    """A connection that has said Hello, with a buffered frame reader."""

    def __init__(self, role, name=b"control-socket-scale.py", hello=True):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(20)
        self.s.connect(SOCK)
        self.buf = b""
        self.rid = 0
        if hello:
            self.hello = self.call(1, fv(1, 1) + fv(2, role) + fb(3, name))

    def frame(self):
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    f, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return f
            try:
                chunk = self.s.recv(1 << 20)
            except socket.timeout:
                return None  # no answer is a failure, not a hang
            if not chunk:
                return None
            self.buf += chunk

    def response(self, rid):
        """(status, message, result fields) of the response to rid."""
        while True:
            env = self.frame()
            if env is None:
                return None
            f = fields(env)
            if 11 in f and f.get(2, [0])[0] in (rid, 0):
                r = fields(f[11][0])
                return (r.get(1, [0])[0], r.get(2, [b""])[0].decode("utf-8", "replace"), r)

    def call(self, kind, body):
        self.rid += 1
        self.s.sendall(frame(self.rid, kind, body))
        return self.response(self.rid)

    def batch(self, reqs):
        """Sends [(kind, body)] in one write; the statuses, in order."""
        first = self.rid + 1
        out = b"".join(frame(first + i, k, b) for i, (k, b) in enumerate(reqs))
        self.rid += len(reqs)
        self.s.sendall(out)
        return [self.response(first + i) for i in range(len(reqs))]

    def close(self):
        self.s.close()


def status_of(r):
    return r[:2] if r else None


def overlays(c):
    r = c.call(10, fv(2, 1))
    st = fields(r[2][11][0]) if r and r[0] == OK and 11 in r[2] else {}
    return [fields(o).get(1, [b""])[0] for o in st.get(5, [])]


def uid(i):
    # Random-looking, as real uids are: a mapping's MAC comes from the
    # uid's first ten digits, and two mappings may not share one.
    return hashlib.sha1(b"%d" % i).hexdigest()


def map_peer(ov, i):
    # MapPeer{overlay, peer_uid, ipv4 (10.x.y.z), label}
    a = i + 2
    ip = "10.%d.%d.%d" % (a >> 16 & 255, a >> 8 & 255, a & 255)
    return fb(1, ov) + fb(2, uid(i)) + fb(3, ip) + fb(8, "peer %d" % i)


# ---- Strings are checked as sent: NUL and invalid UTF-8 ----

ctl = Client(CONTROLLER)
check(ctl.hello and ctl.hello[0] == OK, "a controller says Hello")
r = ctl.call(2, fb(1, b"hs\x00x") + fb(2, "ctlhs") + fv(3, 1))
check(r and r[0] == BAD_REQUEST and "create_overlay.name holds a NUL byte" in r[1],
      "an overlay named \"hs\\0x\" is refused with BAD_REQUEST naming the field (got %r)" % (status_of(r),))
check(b"hs" not in overlays(ctl), "and no overlay \"hs\" was created")
r = ctl.call(2, fb(1, "hs") + fb(2, b"ctl\x00hs") + fv(3, 1))
check(r and r[0] == BAD_REQUEST and "tap_name holds a NUL byte" in r[1],
      "a tap name with a NUL is refused (got %r)" % (status_of(r),))
r = ctl.call(12, fb(1, b"debug\x00x"))
check(r and r[0] == BAD_REQUEST and "set_log_level.level holds a NUL byte" in r[1],
      "a log level \"debug\\0x\" is refused (got %r)" % (status_of(r),))
r = ctl.call(2, fb(1, "big") + fb(2, "ctlbig") + fv(3, 1) + fb(4, "10.0.0.1") + fv(5, 8))
check(r and r[0] == OK, "the overlay \"big\" is created (got %r)" % (status_of(r),))
r = ctl.call(9, fb(1, "big") + fb(2, uid(0)) + fb(3, "10.0.0.2") + fb(8, b"caf\xe9"))
check(r and r[0] == BAD_REQUEST and "map_peer.label is not valid UTF-8" in r[1],
      "a Latin-1 (not UTF-8) label is refused (got %r)" % (status_of(r),))
r = ctl.call(9, fb(1, "big") + fb(2, uid(0)) + fb(3, "10.0.0.2") + fb(8, "csi\u009b31m"))
check(r and r[0] == BAD_REQUEST and "label" in r[1],
      "a label with a C1 control character is refused (got %r)" % (status_of(r),))
r = ctl.call(9, fb(1, b"big\x00") + fb(2, uid(0)) + fb(3, "10.0.0.2"))
check(r and r[0] == BAD_REQUEST and "map_peer.overlay holds a NUL byte" in r[1],
      "a MapPeer naming \"big\\0\" is refused, not taken as \"big\" (got %r)" % (status_of(r),))
bad = Client(OBSERVER, hello=False)
bad.s.sendall(frame(1, 1, fv(1, 1) + fv(2, OBSERVER) + fb(3, b"ipop\x00ctl")))
r = bad.response(1)
check(r and r[0] == BAD_REQUEST and "hello.client_name holds a NUL byte" in r[1]
      and bad.frame() is None,
      "a Hello whose client_name holds a NUL is refused and closed (got %r)" % (status_of(r),))
bad.close()

# ---- 500 idle connections do not stop ipopctl status ----


def ipopctl_status():
    t0 = time.time()
    p = subprocess.run([IPOPCTL, "--socket", SOCK, "--timeout", "5000", "status"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    return p.returncode, time.time() - t0, p.stderr.decode()[:200]


def log_lines(word):
    with open(LOG, "rb") as f:
        return sum(1 for l in f if word in l)


rc, t_base, err = ipopctl_status()
check(rc == 0, "ipopctl status works (%.3f s) %s" % (t_base, err))
figure("ipopctl status, no idle connections: %.3f s" % t_base)
idle, t0 = [], time.time()
for _ in range(500):
    # Blocking: a full backlog makes connect wait, not fail with EAGAIN.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(SOCK)
        idle.append(s)
    except OSError:
        s.close()
t_conn = time.time() - t0
times, fails = [], []
for _ in range(5):
    rc, t, err = ipopctl_status()
    times.append(t)
    if rc != 0:
        fails.append(err)
check(len(idle) == 500 and not fails and max(times) < 2,
      "with 500 idle connections held (%d connected in %.2f s), ipopctl status succeeds 5 of 5 "
      "(slowest %.3f s) %s" % (len(idle), t_conn, max(times), fails[:1]))
figure("ipopctl status with 500 idle connections: median %.3f s, slowest %.3f s"
       % (sorted(times)[2], max(times)))
# tincan closed the idle ones: the cap at once, the rest at the Hello deadline.
time.sleep(3.6)
gone = 0
for s in idle:
    try:
        s.settimeout(0.5)
        gone += s.recv(1) == b""
    except socket.timeout:
        pass  # still open
    except OSError:
        gone += 1  # reset: closed by tincan
    s.close()
check(gone == 500, "tincan closed all 500 idle connections within the Hello deadline (%d)" % gone)
bursts = log_lines(b"to make room")
check(1 <= bursts <= 10, "the evictions are logged once a burst, not once a connection (%d lines)" % bursts)
c = Client(CONTROLLER)
check(c.hello and c.hello[0] == OK, "a controller connects after the flood")
c.close()
ctl = Client(CONTROLLER)

# ---- 100,000 mappings, created in batches over one connection ----

t0 = time.time()
ok = 0
BATCH = 2000
for start in range(0, MAPPINGS, BATCH):
    rs = ctl.batch([(9, map_peer("big", i)) for i in range(start, min(start + BATCH, MAPPINGS))])
    ok += sum(1 for r in rs if r and r[0] == OK)
    if ok != min(start + BATCH, MAPPINGS):
        print("# first refusal: %r" % ([status_of(r) for r in rs if not r or r[0] != OK][:1],))
        break
t_create = time.time() - t0
check(ok == MAPPINGS, "%d MapPeer requests answered OK (%d OK in %.1f s)" % (MAPPINGS, ok, t_create))
figure("create %d mappings: %.2f s (%.0f/s)" % (ok, t_create, ok / max(t_create, 1e-6)))

# ---- An old-style GetState: TOO_BIG, not silence ----

t0 = time.time()
r = ctl.call(10, b"")
t_old = time.time() - t0
check(r and r[0] == TOO_BIG and "paged" in r[1],
      "an empty GetState over %d mappings is answered TOO_BIG telling to page (got %r in %.2f s)"
      % (MAPPINGS, status_of(r), t_old))
r = ctl.call(13, fb(1, b"alive"))
check(r and r[0] == OK, "the connection still serves after the TOO_BIG")

# ---- Paged GetState reads all of them ----

t0 = time.time()
cursor, pages, seen, ok, total = b"", 0, set(), True, None
obs = Client(OBSERVER)
while pages < 1000:
    r = obs.call(10, fv(2, 1) + fb(3, cursor))
    if not r or r[0] != OK or 11 not in r[2]:
        ok = False
        break
    st = fields(r[2][11][0])
    pages += 1
    total = st.get(8, [0])[0]
    for o in st.get(5, []):
        of = fields(o)
        if of.get(1, [b""])[0] == b"big":
            for m in of.get(11, []):
                seen.add(fields(m)[1][0].decode())
    if not st.get(6, [0])[0]:
        break
    nxt = st.get(7, [b""])[0]
    if nxt == cursor:
        ok = False
        break
    cursor = nxt
t_paged = time.time() - t0
want = set(uid(i) for i in range(MAPPINGS))
check(ok and seen == want and total == MAPPINGS,
      "paged GetState returns all %d mappings, each once (%d pages, %d seen, total %r, %.2f s)"
      % (MAPPINGS, pages, len(seen), total, t_paged))
figure("read %d mappings with paged GetState: %.2f s in %d pages" % (len(seen), t_paged, pages))
r = obs.call(10, fv(2, 1) + fv(4, 10) + fb(1, "big"))
st = fields(r[2][11][0]) if r and r[0] == OK else {}
big = [fields(o) for o in st.get(5, [])]
check(len(big) == 1 and len(big[0].get(11, [])) == 10 and st.get(6, [0])[0] == 1,
      "a page with limit 10 holds 10 mappings and says more")
r = obs.call(10, fv(2, 1) + fb(3, "no/such/cursor"))
check(r and r[0] == BAD_REQUEST, "a made-up cursor is BAD_REQUEST (got %r)" % (status_of(r),))

t0 = time.time()
p = subprocess.run([IPOPCTL, "--socket", SOCK, "--timeout", "20000", "status", "--json"],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
t_ctl = time.time() - t0
n_json = -1
try:
    doc = json.loads(p.stdout)
    n_json = sum(len(o.get("mappings", [])) for o in doc.get("overlays", [])
                 if o.get("name") == "big")
except ValueError:
    pass
check(p.returncode == 0 and n_json == MAPPINGS,
      "ipopctl status --json shows all %d mappings (got %d, rc %d, %.2f s) %s"
      % (MAPPINGS, n_json, p.returncode, t_ctl, p.stderr.decode()[:200]))
figure("ipopctl status --json over %d mappings: %.2f s" % (MAPPINGS, t_ctl))
obs.close()

# ---- Fewer mappings, long labels: still too big, still TOO_BIG ----

r = ctl.call(2, fb(1, "lab") + fb(2, "ctllab") + fv(3, 1) + fb(4, "11.0.0.1") + fv(5, 8))
rs = ctl.batch([(9, fb(1, "lab") + fb(2, uid(i)) + fb(3, "11.0.%d.%d" % (1 + i // 250, 1 + i % 250))
                 + fb(8, ("label %05d " % i).ljust(127, "x"))) for i in range(3000)])
check(r and r[0] == OK and all(x and x[0] == OK for x in rs),
      "an overlay \"lab\" with 3000 mappings with 127-byte labels is made")
r = ctl.call(10, fb(1, "lab"))
check(r and r[0] == TOO_BIG and "bytes, over the 262144-byte frame limit" in r[1],
      "its unpaged GetState (about 500 KB) is TOO_BIG with the size (got %r)" % (status_of(r),))
r = ctl.call(11, fb(1, "lab"))
check(r and r[0] == TOO_BIG, "and so is its GetStats (got %r)" % (status_of(r),))
p = subprocess.run([IPOPCTL, "--socket", SOCK, "--json", "stats", "lab"],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
check(p.returncode == 0 and b'"links"' in p.stdout,
      "ipopctl stats lab pages instead and answers (rc %d) %s" % (p.returncode, p.stderr.decode()[:200]))
r = ctl.call(3, fb(1, "lab"))
check(r and r[0] == OK, "the overlay \"lab\" is removed")

# ---- At most 131,072 mappings an overlay (common/limits.h) ----

CAP = 131072
ok = 0
for start in range(MAPPINGS, CAP, BATCH):
    rs = ctl.batch([(9, map_peer("big", i)) for i in range(start, min(start + BATCH, CAP))])
    ok += sum(1 for r in rs if r and r[0] == OK)
r = ctl.call(9, map_peer("big", CAP))
check(ok == CAP - MAPPINGS and r and r[0] != OK and "131072 mappings" in r[1],
      "the overlay fills up to %d mappings, and one more is refused (got %r)" % (CAP, status_of(r)))
r = ctl.call(9, map_peer("big", 0) + fb(8, "changed"))
check(r and r[0] == OK, "a mapping of the full overlay can still be changed (got %r)" % (status_of(r),))
rs = ctl.batch([(9, fb(1, "big") + fb(2, uid(i)) + fv(6, 1)) for i in range(MAPPINGS, CAP)])
check(all(r and r[0] == OK for r in rs), "and the %d extra mappings removed again" % (CAP - MAPPINGS))
ctl.close()

print("1..%d" % N)
sys.exit(1 if FAILED else 0)
