#!/bin/bash
# The GroupVPN end-to-end scenario (test/e2e/gvpn.sh: four members, two
# NATs, outsiders, a member restart, the XMPP server restarting under a
# running overlay) against ejabberd instead of Prosody: accounts by in-band
# registration, friendships by subscription exchanges, the server stopped
# with `ejabberdctl stop`.  Skipped (77) when ejabberd is not installed.
set -u -o pipefail
if ! command -v ejabberdctl >/dev/null 2>&1 &&
	! [[ -x /usr/sbin/ejabberdctl ]]; then
	echo "# skip: ejabberd is not installed (tools/install-deps installs it)"
	exit 77
fi
export PATH=$PATH:/usr/sbin
IPOP_XMPP_SERVER=ejabberd exec bash "$(dirname "$0")/gvpn.sh"
