# shellcheck shell=bash
# SocialVPN helpers for test/e2e/svpn.sh, on top of lib.sh and lib-xmpp.sh.
#
# This file owns what the SocialVPN scenario needs beyond the GroupVPN one:
# friendships made and broken the way a user's chat client would — real
# subscribe / subscribed presence exchanges and roster removal against the
# running server, through xmpp-client.py, never by writing roster files —
# plus svpn member configurations
# and readers of a node's local view (ipopctl's mappings: label, the
# friend device's address in this node's view, its own address, its IPv6).
#
# Source lib.sh, lib-xmpp.sh, then this file; call e2e_init.

# social NS CMD ARGS...: the test XMPP client (xmpp-client.py, see
# lib-xmpp.sh's xmpp_client) from namespace NS.
social() { xmpp_client "$@"; }

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
