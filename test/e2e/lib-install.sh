# shellcheck shell=bash
# The install part of test/e2e/packaging.sh (sourced by it; uses its ok,
# not_ok, check, has, $TMP, $DEB_T, $DEB_C, $CONTROLLER and the file lists
# $TMP/deb-*.lst).  Only with IPOP_TEST_INSTALL=1, which .ci/run sets.
#
# install_test installs both debs with dpkg into the running system, as
# root, only when nothing of them is there already (packages, users ipop
# and ipop-controller, group ipop, /etc/ipop, /var/lib/ipop*, /run/ipop):
# then purging them must bring the system back as it was, which the last
# checks prove (every packaged file gone, the users and the group gone,
# passwd and group as before).  In between: the files and users, the units
# as systemd would load them, and the installed tincan run as the user ipop
# holding only CAP_NET_ADMIN, inside network and mount namespaces of its
# own (so no interface of the host is touched): it creates a TAP with IPv4
# and IPv6 addresses (DAD off under /proc/sys/net) and a switch-mode TAP on
# a bridge, asked by the user ipop-controller over the socket (admitted by
# its group ipop).  No unit is started by the test; where systemd runs and
# no policy-rc.d forbids it, the package starts ipop-tincan.service (a
# socket, no interface), and the purge stops it.

# install_refusal: why installing here is not safe, or nothing.
install_refusal()
{
	local p
	if ((EUID != 0)); then
		echo "not root"
		return
	fi
	if ((!CONTROLLER)); then
		echo "ipop-controller is not built"
		return
	fi
	for p in ipop-tincan ipop-controller; do
		if dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q ' installed$'; then
			echo "package $p is installed already"
			return
		fi
	done
	for p in ipop ipop-controller; do
		if getent passwd "$p" >/dev/null; then
			echo "user $p exists already"
			return
		fi
	done
	if getent group ipop >/dev/null; then
		echo "group ipop exists already"
		return
	fi
	for p in /etc/ipop /var/lib/ipop /var/lib/ipop-controller /run/ipop; do
		if [[ -e $p ]]; then
			echo "$p exists already"
			return
		fi
	done
}

# all_present LIST... / none_present LIST...: every / no packaged file is
# on the system (the first missing / left over one is printed).
all_present()
{
	local f
	while IFS= read -r f; do
		[[ -e $f || -L $f ]] || {
			echo "# missing: $f"
			return 1
		}
	done < <(cat "$@" | grep -v '/$')
}
none_present()
{
	local f
	while IFS= read -r f; do
		[[ -e $f || -L $f ]] && {
			echo "# left: $f"
			return 1
		}
	done < <(cat "$@" | grep -v '/$')
	return 0
}

# user_is NAME GROUP HOME: a system user with that primary group and home
# and no login shell.
user_is()
{
	local ent
	ent=$(getent passwd "$1") || return 1
	IFS=: read -r _ _ uid gid _ home shell <<<"$ent"
	[[ $(getent group "$gid" | cut -d: -f1) == "$2" && $home == "$3" &&
		$shell == */nologin ]] && ((uid < 1000))
}

# in_ns CMD...: CMD in the network namespace of the installed tincan.
in_ns()
{
	nsenter --net="/proc/$IPID/ns/net" "$@"
}

# as_controller CMD...: CMD as the user ipop-controller (group ipop).
as_controller()
{
	setpriv --reuid ipop-controller --regid ipop --init-groups "$@"
}

# Runs the installed ipop-tincan as the unit does (user ipop, only
# CAP_NET_ADMIN, no new privileges), in new network and mount namespaces;
# /dev/net/tun there is a node of mode 0666 (as udev makes it) on a
# private tmpfs.  Its PID in IPID.
start_confined_tincan()
{
	IRUN=$(mktemp -d /tmp/ipop-install-run.XXXXXX) || return 1
	mkdir -m 0700 "$IRUN/state" "$IRUN/dev"
	chown ipop:ipop "$IRUN" "$IRUN/state"
	chmod 0750 "$IRUN"
	unshare --net --mount -- bash -c '
		set -e
		mount --make-rprivate /
		mount -t tmpfs -o mode=0755,size=64k ipop-dev "$1/dev"
		mknod -m 0666 "$1/dev/tun" c 10 200
		mount --bind "$1/dev/tun" /dev/net/tun
		ip link set lo up
		exec setpriv --reuid ipop --regid ipop --init-groups \
			--inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin \
			--bounding-set=-all,+net_admin --no-new-privs \
			/usr/sbin/ipop-tincan --foreground --socket "$1/tincan.sock" \
			--state-dir "$1/state" --socket-group ipop' \
		_ "$IRUN" 2>"$TMP/installed-tincan.log" &
	IPID=$!
	local i
	for ((i = 0; i < 50; i++)); do
		[[ -S $IRUN/tincan.sock ]] && return 0
		sleep 0.1
	done
	sed 's/^/# /' "$TMP/installed-tincan.log"
	return 1
}

# caps_are PID HEX: the process's effective capabilities are HEX.
caps_are()
{
	grep -qx "CapEff:[[:space:]]*$2" "/proc/$1/status"
}

install_test()
{
	local why pw0 gr0 ctl=(ipopctl)
	why=$(install_refusal)
	if [[ -n $why ]]; then
		not_ok "install the debs into this system: refused, $why"
		return
	fi
	pw0=$(getent passwd | sort)
	gr0=$(getent group | sort)
	INSTALLED=1 # read by packaging.sh's exit trap
	if dpkg -i "$DEB_T" "$DEB_C" >"$TMP/dpkg-i.log" 2>&1; then
		ok "dpkg -i installs ipop-tincan and ipop-controller"
	else
		sed 's/^/# /' "$TMP/dpkg-i.log"
		not_ok "dpkg -i installs ipop-tincan and ipop-controller"
		return
	fi
	check "installed: every packaged file is on the system" \
		all_present "$TMP/deb-t.lst" "$TMP/deb-c.lst"
	check "installed: system user ipop (group ipop, home /var/lib/ipop, no shell)" \
		user_is ipop ipop /var/lib/ipop
	check "installed: system user ipop-controller (group ipop)" \
		user_is ipop-controller ipop /var/lib/ipop-controller
	check "installed: both units enabled (multi-user.target.wants)" \
		test -L /etc/systemd/system/multi-user.target.wants/ipop-tincan.service \
		-a -L /etc/systemd/system/multi-user.target.wants/ipop-controller.service
	if systemd-analyze verify --man=no ipop-tincan.service \
		ipop-controller.service ipop-tincan@test.service \
		ipop-controller@test.service >"$TMP/verify-i.log" 2>&1 &&
		! [[ -s $TMP/verify-i.log ]]; then
		ok "installed: systemd-analyze verify accepts the four units"
	else
		sed 's/^/# /' "$TMP/verify-i.log"
		not_ok "installed: systemd-analyze verify accepts the four units"
	fi

	if start_confined_tincan; then
		ok "installed tincan runs as the user ipop with only CAP_NET_ADMIN"
		check "its effective capabilities are CAP_NET_ADMIN alone" \
			caps_are "$IPID" 0000000000001000
		ctl=(ipopctl --socket "$IRUN/tincan.sock")
		check "the user ipop-controller creates a TAP over the socket (group ipop)" \
			as_controller "${ctl[@]}" create-overlay t1 --tap ipoptest0 \
			--ipv4 10.200.0.1/24 --ipv6 fd00:200::1/64
		check "the TAP has its addresses (in tincan's namespace)" \
			grep -q 'ipoptest0 .*10\.200\.0\.1/24 fd00:200::1/64' \
			<(in_ns ip -br addr show ipoptest0)
		check "DAD is off on it (/proc/sys/net written with CAP_NET_ADMIN)" \
			grep -qx 0 <(in_ns cat /proc/sys/net/ipv6/conf/ipoptest0/accept_dad)
		check "a switch-mode TAP joins a bridge" \
			as_controller "${ctl[@]}" create-overlay t2 --tap ipoptest1 \
			--mode switch --bridge brtest0
		check "the bridge has the TAP as its port" \
			grep -q 'master brtest0' <(in_ns ip -o link show ipoptest1)
		kill "$IPID" 2>/dev/null
		wait "$IPID" 2>/dev/null
		IPID=
	else
		not_ok "installed tincan runs as the user ipop with only CAP_NET_ADMIN"
	fi
	rm -rf "$IRUN"
	IRUN=

	if dpkg -P ipop-controller ipop-tincan >"$TMP/dpkg-p.log" 2>&1; then
		# shellcheck disable=SC2034 # read by packaging.sh's exit trap
		INSTALLED=0
		ok "dpkg -P purges both packages"
	else
		sed 's/^/# /' "$TMP/dpkg-p.log"
		not_ok "dpkg -P purges both packages"
		return
	fi
	check "purged: no packaged file is left" \
		none_present "$TMP/deb-t.lst" "$TMP/deb-c.lst"
	check "purged: /etc/ipop, /var/lib/ipop*, /run/ipop, /usr/share/doc/ipop gone" \
		bash -c '! ls -d /etc/ipop /var/lib/ipop /var/lib/ipop-controller \
			/run/ipop /usr/share/doc/ipop 2>/dev/null | grep -q .'
	check "purged: the unit symlinks are gone" \
		test ! -e /etc/systemd/system/multi-user.target.wants/ipop-tincan.service \
		-a ! -e /etc/systemd/system/multi-user.target.wants/ipop-controller.service
	check "purged: users ipop and ipop-controller and group ipop gone (passwd, group as before)" \
		test "$(getent passwd | sort)" == "$pw0" -a "$(getent group | sort)" == "$gr0"
}
