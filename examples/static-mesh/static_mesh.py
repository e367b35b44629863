#!/usr/bin/env python3
"""static-mesh: a controller for one tincan overlay, outside the C code base.

Reads a peers file (one overlay, every member's uid, public key and overlay
address), owns that overlay on the local tincan (PROTOCOL.md §12) and keeps
a full mesh of links to the other members.  ICE credentials travel through
files in a directory every member can read and write (a shared or synced
folder): the member with the lower uid offers, the other answers.

It survives tincan restarts (reconnects with bounded backoff and builds its
overlay again) and adopts what tincan holds when it is itself restarted,
changing nothing that is already right, so running traffic never notices.

    static_mesh.py identity --socket PATH     print this node's peer line
    static_mesh.py run --socket PATH --peers FILE --exchange DIR

See README.md here and docs/write-a-controller.md.
"""
import argparse
import base64
import hashlib
import json
import logging
import os
import re
import signal
import sys
import tempfile
import time

import ipop_client
from ipop_client import Closed, Tincan, TincanError, ipop_pb2

log = logging.getLogger("static-mesh")

TICK_S = 0.2           # how often the mesh is compared with what tincan holds
BACKOFF_MIN_S = 0.1    # reconnect delays double up to the maximum
BACKOFF_MAX_S = 2.0
NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
IFNAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,15}$")
UID_RE = re.compile(r"^[0-9a-f]{40}$")


# ---- the peers file ---------------------------------------------------------

class Config:
    overlay = None
    tap = None
    prefix = 24
    peers = None  # uid -> (public key bytes, ipv4)


def uid_of(key):
    """A uid is the hex of the 20-byte BLAKE2b hash of the public key."""
    return hashlib.blake2b(key, digest_size=20).hexdigest()


def parse_peers(text):
    """Parses a peers file; raises ValueError naming the bad line.

        overlay lab            # the overlay this controller owns
        tap ipoplab            # its TAP device
        prefix 24              # the overlay's IPv4 prefix length
        peer UID KEY ADDRESS   # every member, this node included
    """
    cfg = Config()
    cfg.peers = {}
    for n, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        try:
            if words[0] == "overlay" and len(words) == 2 and NAME_RE.match(words[1]):
                cfg.overlay = words[1]
            elif words[0] == "tap" and len(words) == 2 and IFNAME_RE.match(words[1]):
                cfg.tap = words[1]
            elif words[0] == "prefix" and len(words) == 2 and 1 <= int(words[1]) <= 32:
                cfg.prefix = int(words[1])
            elif words[0] == "peer" and len(words) == 4:
                uid, key, addr = words[1], base64.b64decode(words[2], validate=True), words[3]
                if not UID_RE.match(uid) or len(key) != 32 or uid_of(key) != uid:
                    raise ValueError("uid does not match the 32-byte key")
                if len(addr.split(".")) != 4 or not all(
                        p.isdigit() and int(p) < 256 for p in addr.split(".")):
                    raise ValueError("not an IPv4 address")
                cfg.peers[uid] = (key, addr)
            else:
                raise ValueError("unknown or malformed line")
        except ValueError as e:
            raise ValueError("line %d: %s" % (n, e)) from None
    if not cfg.overlay or not cfg.tap or len(cfg.peers) < 1:
        raise ValueError("needs overlay, tap and at least one peer line")
    return cfg


# ---- candidate files ----------------------------------------------------------

def exchange_path(xdir, overlay, src, dst):
    """The file in which src leaves its credentials for dst."""
    return os.path.join(xdir, overlay, "%s-%s.json" % (src, dst))


def write_creds(path, creds, answers=""):
    """Writes ICE credentials atomically (readers never see half a file).
    answers: the offer's ufrag this answer belongs to ("" in an offer)."""
    doc = {"ufrag": creds.ufrag, "pwd": creds.pwd,
           "candidates": list(creds.candidates), "for": answers}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f)
    os.replace(tmp, path)


def read_creds(path):
    """(IceCredentials, for) from a file, or (None, None) if absent or bad.
    untrusted: another member wrote it."""
    try:
        with open(path) as f:
            doc = json.load(f)
        creds = ipop_pb2.IceCredentials(ufrag=str(doc["ufrag"]), pwd=str(doc["pwd"]))
        creds.candidates.extend(str(c) for c in doc["candidates"][:64])
        return creds, str(doc.get("for", ""))
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("%s: unreadable (%s)", path, e)
        return None, None


# ---- the mesh -----------------------------------------------------------------

def req(**kw):
    """An ipop.Request with one member set: req(create_link=...)."""
    return ipop_pb2.Request(**kw)


class Mesh:
    """Brings one overlay of one tincan to the peers file's mesh."""

    def __init__(self, t, cfg, xdir):
        self.t, self.cfg, self.xdir = t, cfg, xdir
        self.me = t.node.uid
        if self.me not in cfg.peers:
            raise ValueError("this node (%s) is not in the peers file" % self.me)
        self.applied = {}  # peer uid -> ufrag of the remote creds our link holds
        self.taken = False
        self.adopted = False  # adopt() ran on this connection

    def path(self, src, dst):
        return exchange_path(self.xdir, self.cfg.overlay, src, dst)

    def ensure_overlay(self):
        """The overlay's state in tincan, created when missing."""
        try:
            return self.t.get_state(self.cfg.overlay).overlays[0]
        except TincanError as e:
            if e.status != ipop_pb2.NOT_FOUND:
                raise
        ov = ipop_pb2.CreateOverlay(name=self.cfg.overlay, tap_name=self.cfg.tap,
                                    mode=ipop_pb2.L3, ipv4=self.cfg.peers[self.me][1],
                                    ipv4_prefix=self.cfg.prefix)
        self.t.call(req(create_overlay=ov))
        log.info("created overlay %s on %s", self.cfg.overlay, self.cfg.tap)
        info = self.t.get_state(self.cfg.overlay).overlays[0]
        self.adopt(info)  # an empty overlay: adds the mappings
        return info

    def adopt(self, info):
        """After a (re)connect: learn which remote creds each existing link
        holds from the files this node wrote before, and add missing
        mappings.  Changes nothing that is already right."""
        self.applied.clear()
        self.adopted = True
        for link in info.links:
            uid = link.peer_uid
            local = self.local_creds(uid, link)
            if uid not in self.cfg.peers or local is None:
                continue
            mine, answered = read_creds(self.path(self.me, uid))
            if self.me < uid:  # we offered: the answer file says what we took
                theirs, ans_for = read_creds(self.path(uid, self.me))
                if (link.state == ipop_pb2.CONNECTED and theirs
                        and ans_for == local.ufrag):
                    self.applied[uid] = theirs.ufrag
            elif mine and mine.ufrag == local.ufrag:
                self.applied[uid] = answered
        mapped = {m.peer_uid: m.ipv4 for m in info.mappings}
        for uid, (_, addr) in self.cfg.peers.items():
            if uid != self.me and mapped.get(uid) != addr:
                self.t.call(req(map_peer=ipop_pb2.MapPeer(
                    overlay=self.cfg.overlay, peer_uid=uid, ipv4=addr,
                    label="static-mesh")))
        log.info("adopted overlay %s: %d links, %d mappings", self.cfg.overlay,
                 len(info.links), len(info.mappings))

    def local_creds(self, uid, link):
        """The link's own ICE credentials once gathering is done, else None."""
        if link is None or link.state == ipop_pb2.GATHERING:
            return None
        r = self.t.call(req(get_local_candidates=ipop_pb2.GetLocalCandidates(
            overlay=self.cfg.overlay, peer_uid=uid)))
        return r.local if r.local.candidates else None

    def new_link(self, uid, old):
        """(Re)creates the link to uid: RemoveLink first when old exists."""
        if old is not None:
            self.t.call(req(remove_link=ipop_pb2.RemoveLink(
                overlay=self.cfg.overlay, peer_uid=uid)), check=False)
        self.t.call(req(create_link=ipop_pb2.CreateLink(
            overlay=self.cfg.overlay, peer_uid=uid,
            peer_public_key=self.cfg.peers[uid][0])))
        self.applied.pop(uid, None)
        log.info("link to %s created", uid[:8])

    def give_remote(self, uid, creds):
        """AddRemoteCandidates; False when the link holds other creds."""
        r = self.t.call(req(add_remote_candidates=ipop_pb2.AddRemoteCandidates(
            overlay=self.cfg.overlay, peer_uid=uid, remote=creds)), check=False)
        if r.status == ipop_pb2.EXISTS:
            return False
        if r.status != ipop_pb2.OK:
            raise TincanError("add_remote_candidates", r)
        self.applied[uid] = creds.ufrag
        return True

    def offer(self, uid, link):
        """We have the lower uid: offer, take the answer to our offer."""
        if link is None or link.state == ipop_pb2.FAILED:
            self.new_link(uid, link)
            return
        local = self.local_creds(uid, link)
        if local is None:
            return  # still gathering
        mine, _ = read_creds(self.path(self.me, uid))
        if mine != local:
            write_creds(self.path(self.me, uid), local)
        theirs, ans_for = read_creds(self.path(uid, self.me))
        if theirs is None or ans_for != local.ufrag:
            return  # no answer to this offer yet
        if self.applied.get(uid) != theirs.ufrag and not self.give_remote(uid, theirs):
            self.new_link(uid, link)  # they answered again: start over

    def answer(self, uid, link):
        """We have the higher uid: a new offer gets a fresh link."""
        theirs, _ = read_creds(self.path(uid, self.me))
        if theirs is None:
            return
        if link is None or self.applied.get(uid) != theirs.ufrag:
            self.new_link(uid, link)
            self.give_remote(uid, theirs)
            return
        local = self.local_creds(uid, link)
        if local is not None:
            mine, answered = read_creds(self.path(self.me, uid))
            if mine != local or answered != theirs.ufrag:
                write_creds(self.path(self.me, uid), local, theirs.ufrag)

    def tick(self):
        """One comparison of the mesh with tincan's state."""
        for ev in self.t.poll_events():
            if ev.WhichOneof("kind") == "overlay_taken":
                log.warning("%s; idle until reconnected", ev.overlay_taken.reason)
                self.taken = True
        if self.taken:
            return
        info = self.ensure_overlay()
        links = {l.peer_uid: l for l in info.links}
        for uid in sorted(self.cfg.peers):
            if uid == self.me:
                continue
            if self.me < uid:
                self.offer(uid, links.get(uid))
            else:
                self.answer(uid, links.get(uid))


def session(args, cfg):
    """One connection: Hello claiming the overlay, adopt, then ticks."""
    t = Tincan(args.socket, name="static-mesh", overlays=[cfg.overlay])
    try:
        # A tincan older than ownership would have made us the only
        # controller of the whole node: refuse to run there.
        r = t.call(req(claim_overlay=ipop_pb2.ClaimOverlay(name=cfg.overlay)), check=False)
        if r.status == ipop_pb2.UNSUPPORTED:
            raise SystemExit("tincan does not know ownership (PROTOCOL.md §12)")
        mesh = Mesh(t, cfg, args.exchange)
        log.info("connected to tincan %s as owner of %s", t.node.uid[:8], cfg.overlay)
        info = mesh.ensure_overlay()
        if not mesh.adopted:
            mesh.adopt(info)
        while True:
            mesh.tick()
            time.sleep(TICK_S)
    finally:
        t.close()


def run(args):
    with open(args.peers) as f:
        cfg = parse_peers(f.read())
    delay = BACKOFF_MIN_S
    while True:
        started = time.monotonic()
        try:
            session(args, cfg)
        except (OSError, Closed, TincanError) as e:
            log.warning("tincan: %s; reconnecting in %.1f s", e, delay)
        if time.monotonic() - started > 10:
            delay = BACKOFF_MIN_S  # that session was up a while
        time.sleep(delay)
        delay = min(delay * 2, BACKOFF_MAX_S)


def identity(args):
    t = Tincan(args.socket, role=ipop_pb2.OBSERVER, name="static-mesh")
    print("peer %s %s" % (t.node.uid, base64.b64encode(t.node.public_key).decode()))
    t.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("command", choices=["run", "identity"])
    p.add_argument("--socket", default="/run/ipop/tincan.sock")
    p.add_argument("--peers", help="the peers file (run)")
    p.add_argument("--exchange", help="directory shared by the members (run)")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    # SIGTERM (systemd, kill) ends the program like Ctrl-C: the overlay and
    # its links stay in tincan for the next run to adopt.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s static-mesh: %(message)s")
    if args.command == "identity":
        identity(args)
    elif not args.peers or not args.exchange:
        p.error("run needs --peers and --exchange")
    else:
        try:
            run(args)
        except KeyboardInterrupt:
            pass
        except ValueError as e:
            raise SystemExit("static-mesh: %s" % e)


if __name__ == "__main__":
    main()
