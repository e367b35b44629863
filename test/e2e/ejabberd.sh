#!/bin/bash
# The GroupVPN and SocialVPN scenarios against ejabberd instead of Prosody:
# test/e2e/gvpn.sh, svpn.sh and friends.sh (a SocialVPN and a GroupVPN whose
# accounts are made by in-band registration and whose friendships are made,
# refused, removed and made again from XMPP while the daemons run; links and
# pings in both modes, devices going offline and coming back), each with
# IPOP_XMPP_SERVER=ejabberd, one after another (about 2 minutes).  Their TAP
# lines are prefixed with the scenario's name; the exit status is the worst.
# Skipped (77) when ejabberd is not installed (tools/install-deps does).
set -u -o pipefail
export PATH=$PATH:/usr/sbin
if ! command -v ejabberdctl >/dev/null 2>&1; then
	echo "# skip: ejabberd is not installed (tools/install-deps installs it)"
	exit 77
fi
rc=0
for t in gvpn.sh svpn.sh friends.sh; do
	echo "# ==== $t against ejabberd ===="
	IPOP_XMPP_SERVER=ejabberd bash "$(dirname "$0")/$t" </dev/null 2>&1 |
		sed -E "s/^(ok|not ok) ([0-9]+) - /\1 \2 - [$t] /"
	r=${PIPESTATUS[0]}
	((r > rc)) && rc=$r
done
exit "$rc"
