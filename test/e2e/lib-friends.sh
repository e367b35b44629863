# shellcheck shell=bash disable=SC2034 # E2E_ERR is read by lib.sh
# Friendship helpers of test/e2e/friends.sh and federation.sh, on top of
# lib.sh, lib-xmpp.sh and lib-svpn.sh: `ipop-controller friends` run from a
# member's namespace, link and mapping predicates between members (by
# UID_OF), and the TAP steps that measure how long the links take to follow
# a roster change ("# measured (TAG): ..." lines, TAG being FOLLOWS_TAG or
# the server's name in SRV).
#
# The caller fills UID_OF[NAME] with each member's tincan uid.

# friends NAME ARGS...: `ipop-controller friends ARGS` with NAME's
# configuration, from NAME's namespace; its output in OUT, status in RC,
# duration in FR_MS.
friends()
{
	local name=$1 t0
	shift
	t0=$(now_ms)
	OUT=$(nsx "$name" timeout 30 "$CONTROLLER" \
		--config "$(ctl_dir "$name")/controller.yaml" friends "$@" 2>&1)
	RC=$?
	FR_MS=$(($(now_ms) - t0))
	printf '%s\n' "$OUT" | sed "s/^/# $name\$ friends $* | /"
	return "$RC"
}

# friends_says NAME LINE ARGS...: the command succeeds and prints LINE.
friends_says()
{
	local name=$1 line=$2
	shift 2
	friends "$name" "$@" && grep -qxF -- "$line" <<<"$OUT"
}

# friends_says_either NAME LINE1 LINE2 ARGS...: the command succeeds and
# prints one of the two lines.  An approval asks back, and the other side's
# controllers may approve that at once ("a contact we follow"), so the state
# the command prints may already be the final one.
friends_says_either()
{
	local name=$1 one=$2 two=$3
	shift 3
	friends "$name" "$@" &&
		{ grep -qxF -- "$one" <<<"$OUT" || grep -qxF -- "$two" <<<"$OUT"; }
}

# friends_exits NAME CODE ARGS...: the command exits with CODE.
friends_exits()
{
	local name=$1 code=$2
	shift 2
	friends "$name" "$@"
	((RC == code))
}

# linked X Y: X holds a connected link to Y.
linked() { link_connected "$1" "${UID_OF[$2]}"; }
# unlinked X Y: X holds no link (in any state) nor mapping to Y.
unlinked()
{
	local st
	st=$(ctl "$1" --json status) || return 1
	! jq -e --arg u "${UID_OF[$2]}" \
		'[.overlays[]? | (.links[]?, .mappings[]?) | select(.peer_uid == $u)] | length > 0' \
		<<<"$st" >/dev/null
}
# all_linked "X Y"...: every pair linked, both ways.
all_linked()
{
	local p
	for p in "$@"; do
		# shellcheck disable=SC2086
		linked ${p% *} ${p#* } && linked ${p#* } ${p% *} || return 1
	done
}
all_unlinked()
{
	local p
	for p in "$@"; do
		# shellcheck disable=SC2086
		unlinked ${p% *} ${p#* } && unlinked ${p#* } ${p% *} || return 1
	done
}

# secs T0: seconds since T0 (ms), one decimal.
secs() { awk -v d=$(($(now_ms) - $1)) 'BEGIN { printf "%.1f", d / 1000 }'; }

# follows DESC TIMEOUT PRED ARGS...: PRED holds within TIMEOUT s of now
# (the roster change just made); one TAP line, the time measured (and
# the friends command's own time when one made the change).
follows()
{
	local desc=$1 timeout=$2 t0
	shift 2
	t0=$(now_ms)
	if wait_until "$timeout" "$@"; then
		tap_ok "$desc"
		tap_note "measured (${FOLLOWS_TAG:-$SRV}): $desc: $(secs "$t0") s${FR_MS:+ (the friends command before took $FR_MS ms)}"
		FR_MS="" # set again by the next friends command
	else
		E2E_ERR="still not so after $timeout s"
		tap_fail "$desc"
	fi
}

# stays DESC SECONDS PRED ARGS...: PRED holds all through SECONDS s.
stays()
{
	local desc=$1 end
	end=$(deadline_in "$2")
	shift 2
	while (($(now_ms) < end)); do
		if ! "$@" >/dev/null 2>&1; then
			E2E_ERR="no longer so $(($(now_ms) - end)) ms before the end"
			tap_fail "$desc"
			return 1
		fi
		sleep 0.2
	done
	tap_ok "$desc"
}

# view_ping X Y: X pings Y at Y's address in X's view.
view_ping()
{
	local a
	a=$(view_field "$1" "${UID_OF[$2]}" ipv4) || return 1
	ping_ok "$1" "$a" 2
}
