#!/bin/bash
# The core GroupVPN and SocialVPN checks against ejabberd instead of
# Prosody, within CI's time: test/e2e/friends.sh (a SocialVPN and a GroupVPN
# whose accounts are made by in-band registration and whose friendships are
# made, refused, removed and made again from XMPP while the daemons run;
# links and pings in both modes, devices going offline and coming back)
# with IPOP_XMPP_SERVER=ejabberd.  The full scenarios run against ejabberd
# too, by hand:
#   IPOP_XMPP_SERVER=ejabberd test/e2e/gvpn.sh   (and svpn.sh)
# Skipped (77) when ejabberd is not installed (tools/install-deps does).
set -u -o pipefail
export PATH=$PATH:/usr/sbin
if ! command -v ejabberdctl >/dev/null 2>&1; then
	echo "# skip: ejabberd is not installed (tools/install-deps installs it)"
	exit 77
fi
IPOP_XMPP_SERVER=ejabberd exec bash "$(dirname "$0")/friends.sh"
