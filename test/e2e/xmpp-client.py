#!/usr/bin/env python3
"""Minimal XMPP client for the end-to-end tests: plain c2s, in-band
registration, SASL PLAIN, resource binding, roster and subscription
presences -- what a user's chat client does, against any XMPP server
(Prosody, ejabberd).  Standard library only.  Accounts are USER:PASS.
Usage:
  xmpp-client.py --server IP --port P --domain D CMD ARGS
  register U:P...          in-band registration (XEP-0077) of each account;
                           an account that already exists is an error
  befriend A PASS_A B PASS_B
                           A asks B, B approves, B asks A, A approves;
                           both rosters must end with `both`
  mesh U:P...              befriend every pair of the accounts given
  follow A:P B:P...        A asks each B, each B approves, nobody asks
                           back: A's roster ends `to` B, B's `from` A
  unfriend A PASS_A B PASS_B
                           A removes B from her roster (the server sends
                           B unsubscribe + unsubscribed); A's roster loses
                           B, B's shows A as none/absent
  roster U PASS            print U's roster, "contact subscription"
Progress goes to stderr as "# ..." lines; exit 0 on success, 1 otherwise."""
import argparse
import base64
import socket
import sys
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

NS_C = "jabber:client"
NS_STREAM = "http://etherx.jabber.org/streams"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_ROSTER = "jabber:iq:roster"
NS_REGISTER = "jabber:iq:register"
WAIT = 8.0
ASK_TRIES = 3  # subscription requests sent before giving up
ASK_WAIT = 2.0  # seconds for each but the last to be delivered


class Fail(Exception):
    pass


def note(msg):
    print("# " + msg, file=sys.stderr, flush=True)


def bare(jid):
    return (jid or "").split("/", 1)[0]


class Session:
    def __init__(self, opt, user, password, resource):
        self.opt = opt
        self.user = user
        self.jid = "%s@%s" % (user, opt.domain)
        self.roster = {}
        self.backlog = []
        self.seq = 0
        self.sock = socket.create_connection((opt.server, opt.port), WAIT)
        self.login(password, resource)

    # -- stream plumbing --
    def send(self, text):
        self.sock.sendall(text.encode())

    def restart(self):
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.ready = []
        self.send("<?xml version='1.0'?><stream:stream to=%s "
                  "xmlns='%s' xmlns:stream='%s' version='1.0'>"
                  % (quoteattr(self.opt.domain), NS_C, NS_STREAM))

    def read(self, deadline):
        """The next top-level element of the stream."""
        while not self.ready:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("%s: timed out waiting for the server" % self.jid)
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise Fail("%s: the server closed the stream" % self.jid)
            self.parser.feed(data)
            for ev, el in self.parser.read_events():
                if ev == "start":
                    self.depth += 1
                    continue
                self.depth -= 1
                if self.depth == 1:
                    self.ready.append(el)
        return self.ready.pop(0)

    def next_id(self, what):
        self.seq += 1
        return "%s%d" % (what, self.seq)

    # -- login --
    def login(self, password, resource):
        deadline = time.monotonic() + WAIT
        self.restart()
        feats = self.read(deadline)
        if resource is None:
            self.register(password, deadline)
            return
        if feats.find(".//{%s}mechanism[.='PLAIN']" % NS_SASL) is None:
            raise Fail("%s: server offers no SASL PLAIN" % self.jid)
        cred = base64.b64encode(("\0%s\0%s" % (self.user, password)).encode())
        self.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>"
                  % (NS_SASL, cred.decode()))
        if self.read(deadline).tag != "{%s}success" % NS_SASL:
            raise Fail("%s: authentication refused" % self.jid)
        self.restart()
        self.read(deadline)
        iid = self.next_id("bind")
        self.send("<iq type='set' id='%s'><bind xmlns='%s'><resource>%s"
                  "</resource></bind></iq>" % (iid, NS_BIND, resource))
        res = self.wait(lambda e: self.is_reply(e, iid), "bind result")
        if res.get("type") != "result":
            raise Fail("%s: resource binding failed" % self.jid)
        iid = self.next_id("roster")
        self.send("<iq type='get' id='%s'><query xmlns='%s'/></iq>"
                  % (iid, NS_ROSTER))
        res = self.wait(lambda e: self.is_reply(e, iid), "roster")
        self.take_items(res.find("{%s}query" % NS_ROSTER))
        note("%s/%s logged in, roster %s" % (self.jid, resource,
                                             self.roster_text()))

    def register(self, password, deadline):
        """XEP-0077 on a fresh stream: the form, then the account."""
        iid = self.next_id("reg")
        self.send("<iq type='set' id='%s' to=%s><query xmlns='%s'>"
                  "<username>%s</username><password>%s</password></query>"
                  "</iq>" % (iid, quoteattr(self.opt.domain), NS_REGISTER,
                             escape(self.user), escape(password)))
        while True:
            el = self.read(deadline)
            if self.is_reply(el, iid):
                break
        if el.get("type") != "result":
            err = el.find("{%s}error" % NS_C)
            why = "?" if err is None or len(err) == 0 else \
                err[0].tag.split("}")[-1]
            raise Fail("%s: registration refused (%s)" % (self.jid, why))

    # -- stanzas --
    @staticmethod
    def is_reply(el, iid):
        return el.tag == "{%s}iq" % NS_C and el.get("id") == iid

    def take_items(self, query):
        if query is None:
            return
        for item in query.findall("{%s}item" % NS_ROSTER):
            sub = item.get("subscription", "none")
            if sub == "remove":
                self.roster.pop(item.get("jid"), None)
            else:
                self.roster[item.get("jid")] = sub

    def handle(self, el):
        """Roster pushes update the roster and are acknowledged."""
        if el.tag != "{%s}iq" % NS_C or el.get("type") not in ("set", "get"):
            return
        q = el.find("{%s}query" % NS_ROSTER)
        frm = el.get("from")
        if (el.get("type") == "set" and q is not None
                and (frm is None or bare(frm) == self.jid)):
            self.take_items(q)
            note("%s: roster push %s" % (self.jid, self.roster_text()))
            self.send("<iq type='result' id=%s/>" % quoteattr(el.get("id", "")))
        else:
            self.send("<iq type='error' id=%s to=%s><error type='cancel'>"
                      "<service-unavailable xmlns='urn:ietf:params:xml:ns:"
                      "xmpp-stanzas'/></error></iq>"
                      % (quoteattr(el.get("id", "")), quoteattr(frm or "")))

    def wait(self, pred, what, secs=None):
        """The first stanza (old or new) matching pred, within secs (WAIT
        when None)."""
        for i, el in enumerate(self.backlog):
            if pred(el):
                return self.backlog.pop(i)
        deadline = time.monotonic() + (WAIT if secs is None else secs)
        while True:
            try:
                el = self.read(deadline)
            except Fail as e:
                raise Fail("%s (waiting for %s)" % (e, what))
            self.handle(el)
            if pred(el):
                return el
            self.backlog.append(el)

    def wait_roster(self, jid, subs):
        """Until jid's subscription in our roster is one of subs (None:
        no entry)."""
        if self.roster.get(jid) in subs:
            return
        self.wait(lambda e: self.roster.get(jid) in subs,
                  "%s to be %s in %s's roster" % (jid, "/".join(
                      str(x) for x in subs), self.jid))

    def wait_presence(self, frm, ptype, secs=None):
        return self.wait(lambda e: e.tag == "{%s}presence" % NS_C
                         and bare(e.get("from")) == frm
                         and e.get("type") == ptype,
                         "presence %s from %s" % (ptype, frm), secs)

    def presence(self, to, ptype):
        self.send("<presence to=%s type=%s/>" % (quoteattr(to),
                                                 quoteattr(ptype)))
        note("%s -> %s: presence %s" % (self.jid, to, ptype))

    def available(self):
        self.send("<presence><priority>-1</priority></presence>")

    def remove(self, jid):
        iid = self.next_id("rm")
        self.send("<iq type='set' id='%s'><query xmlns='%s'><item jid=%s "
                  "subscription='remove'/></query></iq>"
                  % (iid, NS_ROSTER, quoteattr(jid)))
        res = self.wait(lambda e: self.is_reply(e, iid), "roster remove")
        if res.get("type") != "result":
            raise Fail("%s: roster remove of %s refused" % (self.jid, jid))
        note("%s: removed %s from the roster" % (self.jid, jid))

    def roster_text(self):
        return ", ".join("%s=%s" % kv for kv in sorted(self.roster.items())) \
            or "(empty)"

    def close(self):
        try:
            self.send("</stream:stream>")
            self.sock.close()
        except OSError:
            pass


def befriend(opt, a, pa, b, pb):
    sa = Session(opt, a, pa, "social-tool")
    sb = Session(opt, b, pb, "social-tool")
    # Available (priority -1) so that requests are delivered to us.
    sa.available()
    sb.available()
    for x, y in ((sa, sb), (sb, sa)):
        ask(x, y)
        note("%s received the request of %s" % (y.jid, x.jid))
        y.presence(x.jid, "subscribed")
        x.wait_presence(y.jid, "subscribed")
        note("%s received the approval of %s" % (x.jid, y.jid))
    sa.wait_roster(sb.jid, ("both",))
    sb.wait_roster(sa.jid, ("both",))
    print("%s: %s=%s" % (sa.jid, sb.jid, sa.roster[sb.jid]))
    print("%s: %s=%s" % (sb.jid, sa.jid, sb.roster[sa.jid]))
    sa.close()
    sb.close()


def unfriend(opt, a, pa, b, pb):
    # No available presence: these sessions stay invisible to the
    # controllers running under the same accounts.
    sa = Session(opt, a, pa, "social-tool")
    sb = Session(opt, b, pb, "social-tool")
    sa.remove(sb.jid)
    sa.wait_roster(sb.jid, (None,))
    sb.wait_roster(sa.jid, (None, "none"))
    print("%s: %s=%s" % (sa.jid, sb.jid, sa.roster.get(sb.jid, "absent")))
    print("%s: %s=%s" % (sb.jid, sa.jid, sb.roster.get(sa.jid, "absent")))
    sa.close()
    sb.close()


def register(opt, *accounts):
    """In-band registration, one stream per account (before any login)."""
    for acct in accounts:
        user, password = split_account(acct)
        s = Session(opt, user, password, None)
        s.close()
        note("%s@%s registered" % (user, opt.domain))


def split_account(acct):
    if ":" not in acct:
        raise Fail("account %r is not USER:PASS" % acct)
    return acct.split(":", 1)


def ask(x, y):
    """x asks y until y has the request.  A request that reaches the
    server before y's available presence is processed is kept as pending
    and not delivered to y's session (seen with ejabberd): asking again
    is harmless and delivers it."""
    for attempt in range(ASK_TRIES):
        x.presence(y.jid, "subscribe")
        try:
            y.wait_presence(x.jid, "subscribe",
                            None if attempt == ASK_TRIES - 1 else ASK_WAIT)
            return
        except Fail as e:
            if attempt == ASK_TRIES - 1:
                raise
            note("%s; asking again" % e)


def exchange(x, y):
    """x asks y, y approves."""
    ask(x, y)
    y.presence(x.jid, "subscribed")
    x.wait_presence(y.jid, "subscribed")


def mesh(opt, *accounts):
    sess = [Session(opt, *split_account(a), "social-tool") for a in accounts]
    for s in sess:
        s.available()
    for i, x in enumerate(sess):
        for y in sess[i + 1:]:
            exchange(x, y)
            exchange(y, x)
    for i, x in enumerate(sess):
        for y in sess[i + 1:]:
            x.wait_roster(y.jid, ("both",))
            y.wait_roster(x.jid, ("both",))
            print("%s: %s=both" % (x.jid, y.jid))
    for s in sess:
        s.close()


def follow(opt, a, *others):
    sa = Session(opt, *split_account(a), "social-tool")
    sa.available()
    for o in others:
        so = Session(opt, *split_account(o), "social-tool")
        so.available()
        exchange(sa, so)
        sa.wait_roster(so.jid, ("to",))
        so.wait_roster(sa.jid, ("from",))
        print("%s: %s=to" % (sa.jid, so.jid))
        so.close()
    sa.close()


def roster(opt, u, pu):
    s = Session(opt, u, pu, "social-tool")
    for jid, sub in sorted(s.roster.items()):
        print("%s %s" % (jid, sub))
    s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, default=5222)
    ap.add_argument("--domain", required=True)
    ap.add_argument("cmd", choices=("register", "befriend", "mesh", "follow",
                                    "unfriend", "roster"))
    ap.add_argument("args", nargs="*")
    opt = ap.parse_args()
    need = {"befriend": 4, "unfriend": 4, "roster": 2}.get(opt.cmd)
    if need is None and len(opt.args) < 1 + (opt.cmd != "register"):
        ap.error("%s takes accounts USER:PASS" % opt.cmd)
    if need is not None and len(opt.args) != need:
        ap.error("%s takes %d arguments" % (opt.cmd, need))
    try:
        globals()[opt.cmd](opt, *opt.args)
    except (Fail, OSError, ET.ParseError) as e:
        print("xmpp-social: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
