# shellcheck shell=bash
# SocialVPN helpers for test/e2e/svpn.sh, on top of lib.sh and lib-xmpp.sh.
#
# This file owns what the SocialVPN scenario needs beyond the GroupVPN one:
# a tiny XMPP client (python3, standard library only) that makes and breaks
# friendships the way a user's chat client would — real subscribe /
# subscribed presence exchanges and roster removal against the running
# Prosody, never by writing roster files — plus svpn member configurations
# and readers of a node's local view (ipopctl's mappings: label, the
# friend device's address in this node's view, its own address, its IPv6).
#
# Source lib.sh, lib-xmpp.sh, then this file; call e2e_init, then
# social_install before the first social call.

SOCIAL_PY=""		# the client, written into the temp dir by social_install

# social_install: write the XMPP client into the temp dir.
social_install()
{
	SOCIAL_PY=$E2E_TMP/xmpp-social.py
	cat >"$SOCIAL_PY" <<'PY'
"""Minimal XMPP client for the SocialVPN test: plain c2s, SASL PLAIN,
resource binding, roster and subscription presences.  Standard library
only.  Usage:
  xmpp-social.py --server IP --port P --domain D CMD ARGS
  befriend A PASS_A B PASS_B   A asks B, B approves, B asks A, A approves;
                               both rosters must end with `both`
  unfriend A PASS_A B PASS_B   A removes B from her roster (the server
                               sends B unsubscribe + unsubscribed); A's
                               roster loses B, B's shows A as none/absent
  roster U PASS                print U's roster, "contact subscription"
Progress goes to stderr as "# ..." lines; exit 0 on success, 1 otherwise."""
import argparse
import base64
import socket
import sys
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

NS_C = "jabber:client"
NS_STREAM = "http://etherx.jabber.org/streams"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_ROSTER = "jabber:iq:roster"
WAIT = 8.0


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

    def wait(self, pred, what):
        """The first stanza (old or new) matching pred."""
        for i, el in enumerate(self.backlog):
            if pred(el):
                return self.backlog.pop(i)
        deadline = time.monotonic() + WAIT
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

    def wait_presence(self, frm, ptype):
        return self.wait(lambda e: e.tag == "{%s}presence" % NS_C
                         and bare(e.get("from")) == frm
                         and e.get("type") == ptype,
                         "presence %s from %s" % (ptype, frm))

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
        x.presence(y.jid, "subscribe")
        y.wait_presence(x.jid, "subscribe")
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
    ap.add_argument("cmd", choices=("befriend", "unfriend", "roster"))
    ap.add_argument("args", nargs="*")
    opt = ap.parse_args()
    need = {"befriend": 4, "unfriend": 4, "roster": 2}[opt.cmd]
    if len(opt.args) != need:
        ap.error("%s takes %d arguments" % (opt.cmd, need))
    try:
        globals()[opt.cmd](opt, *opt.args)
    except (Fail, OSError, ET.ParseError) as e:
        print("xmpp-social: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
PY
}

# social NS CMD ARGS...: run the client from namespace NS (bounded).
social()
{
	local ns=$1
	shift
	nsx "$ns" timeout 30 python3 "$SOCIAL_PY" --server "$XMPP_IP" \
		--port "$XMPP_PORT" --domain "$XMPP_DOMAIN" "$@"
}

# roster_file_sub USER CONTACT: CONTACT's subscription in USER's roster as
# Prosody stored it on disk ("absent" when there is no entry).
roster_file_sub()
{
	local f=$XMPP_DATA/roster/$1.dat
	[[ -r $f ]] || { echo absent; return 0; }
	tr -d ' \t\n' <"$f" |
		grep -oP "\[\"\Q$2@$XMPP_DOMAIN\E\"\]=\{(?:[^{}]|\{[^{}]*\})*\}" |
		grep -oP '\["subscription"\]="\K[a-z]+' | head -n 1 |
		grep . || echo absent
}

# ---- svpn members ---------------------------------------------------------

# svpn_member_config NAME USER PASS [UID=ADDR...]: configuration of device
# NAME (its tincan is NAME too) logging in as USER; overlay "social" of
# type svpn on ipop0 with the default subnet and address, and the given
# pins.
svpn_member_config()
{
	local name=$1 user=$2 pass=$3 d p
	shift 3
	config_common "$name" "$user" "$pass" || return 1
	d=$(ctl_dir "$name")
	cat >>"$d/controller.yaml" <<-EOF
		  - name: social
		    type: svpn
		    tap: ipop0
	EOF
	(($# == 0)) && return 0
	echo "    pins:" >>"$d/controller.yaml"
	for p in "$@"; do
		printf '      - device: %s\n        address: %s\n' \
			"${p%%=*}" "${p#*=}" >>"$d/controller.yaml"
	done
}

# svpn_status NAME: NAME's status as JSON (one call, for several readers).
svpn_status() { ctl "$1" --json status; }

# svpn_view NAME: NAME's local view, one line per mapping:
# "peer_uid ipv4 peer_ipv4 ipv6 label".
svpn_view()
{
	svpn_status "$1" |
		jq -r '.overlays[]?.mappings[]? |
			"\(.peer_uid) \(.ipv4 // "-") \(.peer_ipv4 // "-") \(.ipv6 // "-") \(.label // "-")"'
}

# view_field NAME UID FIELD: one field (ipv4, peer_ipv4, ipv6, label) of
# NAME's mapping for UID; fails when NAME has no mapping for UID.
view_field()
{
	svpn_status "$1" |
		jq -er --arg u "$2" --arg f "$3" \
			'[.overlays[]?.mappings[]? | select(.peer_uid == $u) | .[$f]] |
			 first // empty | select(. != null and . != "")'
}

# has_mapping NAME UID: NAME maps some address to UID.
has_mapping()
{
	svpn_status "$1" |
		jq -e --arg u "$2" \
			'[.overlays[]?.mappings[]? | select(.peer_uid == $u)] | length > 0' \
			>/dev/null
}

# own_ipv6 NAME: NAME's overlay IPv6 address (without prefix length).
own_ipv6()
{
	svpn_status "$1" | jq -er '.overlays[0].ipv6 | select(. != null and . != "") | sub("/.*"; "")'
}

# own_ipv4 NAME: NAME's overlay IPv4 address (without prefix length).
own_ipv4()
{
	svpn_status "$1" | jq -er '.overlays[0].ipv4 | select(. != null and . != "") | sub("/.*"; "")'
}
