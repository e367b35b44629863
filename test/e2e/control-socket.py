#!/usr/bin/env python3
"""Hostile and well-behaved clients against one ipop-tincan control socket.

Run by control-socket.sh with the socket path as argument.  Frames are built
by hand (4-byte big-endian length + protobuf Envelope) so that anything can be
sent, including garbage.  Prints TAP lines ("ok N - ..." / "not ok N - ...").
"""
import socket
import struct
import sys

SOCK = sys.argv[1]
N = 0
FAILED = 0


def check(ok, desc):
    global N, FAILED
    N += 1
    if not ok:
        FAILED += 1
    print(("ok" if ok else "not ok") + " %d - %s" % (N, desc), flush=True)


def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field_varint(num, v):
    return varint(num << 3) + varint(v)


def field_bytes(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data


def envelope(body_field, body, version=1, rid=1):
    return field_varint(1, version) + field_varint(2, rid) + field_bytes(body_field, body)


def hello(role, proto=1):
    # Request { hello = 1 { protocol_version = 1, role = 2 } }
    return field_bytes(1, field_varint(1, proto) + field_varint(2, role))


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


def read_varint(buf, i):
    v = shift = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def fields(buf):
    """Top-level fields of a protobuf message: {num: [values]}."""
    out, i = {}, 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(buf, i)
        elif wt == 2:
            n, i = read_varint(buf, i)
            v, i = buf[i:i + n], i + n
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(num, []).append(v)
    return out


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

echo_works("tincan still answers a new client's Echo")
bystander.sendall(frame(envelope(10, field_bytes(13, field_bytes(1, b"x")), rid=9)))
check(response_status(read_frame(bystander)) == (9, OK),
      "the observer connected all along is still served")
bystander.close()

print("1..%d" % N)
sys.exit(1 if FAILED else 0)
