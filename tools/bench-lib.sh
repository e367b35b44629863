# shellcheck shell=bash disable=SC2034
# The bench-only part of tools/bench: its two topologies (a direct veth, and
# two hosts each behind its own NAT router), a STUN-only coturn, the
# measurements (iperf3 TCP/UDP, /proc CPU and RSS, medians) and writing the
# results (Markdown, CSV, chart).  The run itself (temp dir, namespace
# prefix, tracked PIDs, the EXIT trap), namespaces, veths, NAT routers,
# bounded waits and pings come from test/lib/, sourced by tools/bench first.
#
# Nothing here touches the root namespace's addresses, routes or firewall:
# every interface, address and iptables rule lives in a namespace this run
# created.

CLK_TCK=$(getconf CLK_TCK)

bn_log() { printf '# %s\n' "$*" >&2; }

# Set by the topology functions:
HOST_A=""	# sender namespace
HOST_B=""	# receiver namespace
UNDER_DST=""	# the address A uses to reach B on the underlay
STUN_ADDR=""	# STUN server ip:port for tincan (NAT topology only)
STUN_PID=""	# coturn
TOPO_NS=()	# namespaces of the current topology

# topo_direct: A 10.99.0.1 -- veth -- B 10.99.0.2.
topo_direct()
{
	TOPO_NS=(da db)
	ns_add da && ns_add db &&
		veth_add da eth0 db eth0 10.99.0.1/24 10.99.0.2/24 || return 1
	HOST_A=da HOST_B=db UNDER_DST=10.99.0.2 STUN_ADDR=""
}

# nat_forward NS PROTO PORT DST: a port forward (DNAT) from the WAN to DST.
nat_forward()
{
	nsx "$1" iptables -t nat -A PREROUTING -i wan -p "$2" --dport "$3" \
		-j DNAT --to-destination "$4"
}

# topo_nat: two hosts, each behind its own NAT, the NATs joined by a router:
#   h1 10.1.0.2 - n1 (100.64.1.2) - pub (STUN 100.64.0.2) - n2 (100.64.2.2) - h2 10.2.0.2
# n2 forwards the ports fastd, tinc and iperf3 listen on (and ICMP echo) to
# h2, like a home router with port forwards: neither fastd nor tinc 1.0 can
# cross two NATs without one.  tincan uses none of them (ICE with STUN).
topo_nat()
{
	TOPO_NS=(pub n1 h1 n2 h2)
	ns_add pub || return 1
	nsx pub sysctl -qw net.ipv4.ip_forward=1 &&
		ip -n "$(ns_name pub)" addr add 100.64.0.2/32 dev lo &&
		nat_add n1 1 && nat_add n2 2 &&
		host_add n1 1 h1 2 && host_add n2 2 h2 2 || return 1
	nat_forward n2 tcp 5201 10.2.0.2 && nat_forward n2 udp 5201 10.2.0.2 &&
		nat_forward n2 udp 10000 10.2.0.2 &&
		nat_forward n2 tcp 655 10.2.0.2 && nat_forward n2 udp 655 10.2.0.2 &&
		nsx n2 iptables -t nat -A PREROUTING -i wan -p icmp \
			--icmp-type echo-request -j DNAT --to-destination 10.2.0.2 &&
		nsx n2 iptables -I FORWARD -i wan -m conntrack --ctstate DNAT \
			-j ACCEPT || return 1
	HOST_A=h1 HOST_B=h2 UNDER_DST=100.64.2.2 STUN_ADDR=100.64.0.2:3478
	stun_start
}

# stun_start: coturn in pub as a STUN-only server (tincan gathers its
# server-reflexive candidates from it).
stun_start()
{
	local d=$RUN_TMP/stun
	mkdir -p "$d" || return 1
	cat >"$d/turn.conf" <<-EOF
		listening-ip=100.64.0.2
		listening-port=3478
		stun-only
		no-rfc5780
		no-tls
		no-dtls
		no-cli
		no-multicast-peers
		userdb=$d/turndb
		pidfile=$d/turnserver.pid
		log-file=stdout
		simple-log
	EOF
	ip netns exec "$(ns_name pub)" turnserver -c "$d/turn.conf" \
		>"$d/turnserver.log" 2>&1 &
	STUN_PID=$!
	run_track_pid $!
	wait_until 10 ns_listens pub udp 100.64.0.2:3478
}

# topo_del: stop the STUN server, then delete the topology's namespaces.
topo_del()
{
	if [[ -n $STUN_PID ]]; then
		pid_stop "$STUN_PID"
		STUN_PID=""
	fi
	ns_del "${TOPO_NS[@]}"
}

# ---- measurements -------------------------------------------------------------------

# proc_ticks PID: utime + stime (all threads), in clock ticks.
proc_ticks()
{
	local s f
	s=$(<"/proc/$1/stat") || return 1
	s=${s##*) }
	read -ra f <<<"$s"
	echo $((f[11] + f[12]))
}

# proc_rss_kb PID: VmRSS in kB.
proc_rss_kb()
{
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# proc_mem_kb PID: "RSS private Pss" in kB, private being Private_Clean +
# Private_Dirty of /proc/PID/smaps_rollup (what the process alone holds;
# most of its RSS is shared libraries).
proc_mem_kb()
{
	awk '/^Rss:/ { r = $2 } /^Private_(Clean|Dirty):/ { p += $2 }
		/^Pss:/ { s = $2 } END { if (r) print r, p, s }' \
		"/proc/$1/smaps_rollup" 2>/dev/null
}

# mb KB: kB as MB with one decimal ("" for none).
mb() { awk -v k="${1:-}" 'BEGIN { if (k > 0) printf "%.1f", k / 1024 }'; }

# per_core MBPS CPU_A CPU_B: throughput per core of the busier daemon.
per_core()
{
	awk -v t="$1" -v a="$2" -v b="$3" 'BEGIN { c = (a > b) ? a : b
		if (t > 0 && c > 0) printf "%.0f", t / (c / 100) }'
}

# iperf_server NS: a one-shot iperf3 server on port 5201; sets IPERF_SPID
# (the iperf3 process itself: ip netns exec execs it) and waits until that
# process listens.
iperf_server()
{
	nsbg "$1" "$RUN_TMP/iperf3-server.log" iperf3 -s -1 -p 5201
	IPERF_SPID=$NSBG_PID
	wait_until 5 pid_listening "$1" 5201 "$IPERF_SPID"
}

# pid_listening NS PORT PID: PID has a TCP socket listening on PORT.
pid_listening()
{
	nsx "$1" ss -Hltnp "sport = :$2" | grep -qF "pid=$3,"
}

iperf_server_done()
{
	pid_wait_gone 3 "$IPERF_SPID" || pid_stop "$IPERF_SPID"
	wait "$IPERF_SPID" 2>/dev/null
	return 0
}

# iperf_client NS DST SECONDS OUT ARGS...: one bounded iperf3 run, JSON to OUT.
iperf_client()
{
	local ns=$1 dst=$2 t=$3 out=$4
	shift 4
	nsx "$ns" timeout $((t + 20)) iperf3 -c "$dst" -p 5201 -t "$t" -J \
		"$@" >"$out" 2>"$out.err"
}

# median V...: the median of the numeric arguments ("" when none).
median()
{
	(($#)) || return 0
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2];
		      else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# fmt V DIGITS: a number with DIGITS decimals, or "n/a".
fmt()
{
	[[ -n $1 ]] || { echo n/a; return; }
	awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f", d, v }'
}

# ---- results (METRICS, SYS_LABEL and R are set by tools/bench) ---------------------

# best_peer TOPO METRIC DIR: the best median of fastd and tinc.
best_peer()
{
	local a b
	a=$(med "$1" fastd "$2")
	b=$(med "$1" tinc "$2")
	awk -v a="$a" -v b="$b" -v d="$3" 'BEGIN {
		if (a == "" && b == "") exit
		if (a == "") { print b; exit }
		if (b == "") { print a; exit }
		if (d == "hi") print (a + 0 > b + 0) ? a : b
		else print (a + 0 < b + 0) ? a : b }'
}

ratio()
{
	[[ -n $1 && -n $2 ]] || return 0
	awk -v v="$1" -v b="$2" 'BEGIN { if (b + 0 != 0) printf "%.2f", v / b }'
}

write_results()
{
	local md=$OUT_DIR/results.md csv=$OUT_DIR/results.csv topo s m
	local key dir dec v b r cells line
	{
		echo "# IPOP-C benchmark"
		echo
		echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) CPUs," \
			"$ROUNDS round(s), medians; TCP ${TCP_T} s per test," \
			"UDP ${UDP_T} s per probe; overlay MTU $OV_MTU everywhere."
		echo "Each cell: median (ratio to the best of fastd and tinc in the same table;" \
			"for throughput higher is better, for the others lower)."
		for topo in $TOPOS; do
			echo
			if [[ $topo == direct ]]; then
				echo "## direct (two namespaces joined by a veth)"
			else
				echo "## nat (each host behind its own MASQUERADE router; STUN for tincan, port forwards for fastd/tinc/iperf3)"
			fi
			echo
			line="| system |"
			for m in "${METRICS[@]}"; do
				line+=" ${m#*:*:*:} |"
			done
			echo "$line"
			echo "|---|$(printf -- '---:|%.0s' "${METRICS[@]}")"
			for s in $SYSTEMS; do
				cells="| ${SYS_LABEL[$s]}${CIPHER_OF[$s]:+ [${CIPHER_OF[$s]}]} |"
				for m in "${METRICS[@]}"; do
					IFS=: read -r key dir dec _ <<<"$m"
					v=$(med "$topo" "$s" "$key")
					b=$(best_peer "$topo" "$key" "$dir")
					r=$(ratio "$v" "$b")
					if [[ -z $v ]]; then
						cells+=" — |"
					elif [[ -n $r ]]; then
						cells+=" $(fmt "$v" "$dec") (${r}×) |"
					else
						cells+=" $(fmt "$v" "$dec") |"
					fi
				done
				echo "$cells"
			done
		done
		echo
		echo "## tincan extras"
		echo
		echo "| measure | value |"
		echo "|---|---:|"
		for topo in $TOPOS; do
			v=$(med "$topo" ipop echo_idle)
			echo "| control echo round trip, idle ($topo), median of 20 ms | $(fmt "$v" 2) |"
			v=$(med "$topo" ipop echo_load)
			echo "| control echo round trip, iperf3 -P 4 running ($topo), median of 20 ms | $(fmt "$v" 2) |"
			v=$(med "$topo" ipop ctl_proc)
			echo "| of which ipopctl process start/exit (ipopctl --help, no socket) ($topo), ms | $(fmt "$v" 2) |"
			for s in ipop ipopcc base; do
				[[ -n ${INTEGRITY[$topo|$s]:-} ]] &&
					echo "| 32 MiB over TCP while iperf3 -P 2 loads the link, SHA-256 per round ($topo, $s) | ${INTEGRITY[$topo|$s]} |"
			done
		done
		if ((DO_50)); then
			echo
			echo "## hub tincan memory by connected links (this tree, --cipher auto)"
			echo
			echo "| links | connected | RSS MB | private MB | Pss MB | private bytes per link (over 0 links) |"
			echo "|---:|---:|---:|---:|---:|---:|"
			echo "| 0 | — | $(mb "$(med extra ipop rss_0)") | $(mb "$(med extra ipop priv_0)") | $(mb "$(med extra ipop pss_0)") | — |"
			for n in $LINK_COUNTS; do
				v=$(med extra ipop "priv_$n")
				b=$(med extra ipop priv_0)
				echo "| $n | $(med extra ipop "up_$n") | $(mb "$(med extra ipop "rss_$n")") | $(mb "$v") | $(mb "$(med extra ipop "pss_$n")") | $(awk -v v="$v" -v b="$b" -v n="$n" 'BEGIN { if (v != "" && b != "") printf "%.0f", (v - b) * 1024 / n }') |"
			done
		fi
		echo
		echo "Settings: fastd salsa2012+umac, TAP mode; tinc 1.0 switch mode, default cipher;"
		echo "each tincan row names its transport cipher in brackets (read from ipopctl stats)."
		echo "iperf3 UDP payloads ${UDP_SMALL} B and ${UDP_LEN} B (over a ${OV_MTU}-byte overlay MTU a payload above $((OV_MTU - 28)) B is two IP fragments)."
	} >"$md"
	{
		echo "topology,system,metric,median,ratio_to_best_peer,best_peer_median,rounds"
		for topo in $TOPOS; do
			for s in $SYSTEMS; do
				for m in "${METRICS[@]}" "echo_idle:lo" "echo_load:lo" "ctl_proc:lo"; do
					IFS=: read -r key dir _ <<<"$m"
					v=$(med "$topo" "$s" "$key")
					[[ -n $v ]] || continue
					b=$(best_peer "$topo" "$key" "$dir")
					echo "$topo,$s,$key,$v,$(ratio "$v" "$b"),$b,${R["$topo|$s|$key"]% }"
				done
			done
		done
		for key in rss_0 priv_0 pss_0; do
			v=$(med extra ipop "$key")
			[[ -n $v ]] && echo "links,ipop,$key,$v,,,$v"
		done
		for n in $LINK_COUNTS; do
			for key in up rss priv pss; do
				v=$(med extra ipop "${key}_$n")
				[[ -n $v ]] && echo "links,ipop,${key}_$n,$v,,,$v"
			done
		done
	} >"$csv"
}

write_chart()
{
	local dat=$OUT_DIR/chart.dat topo s note=""
	command -v gnuplot >/dev/null 2>&1 || { bn_log "no gnuplot: no chart"; return 0; }
	{
		for topo in $TOPOS; do
			for s in $SYSTEMS; do
				[[ $s == raw ]] && continue
				printf '"%s\\n%s" %s %s %s\n' "${SYS_LABEL[$s]}" "$topo" \
					"$(med "$topo" "$s" tcp1)" "$(med "$topo" "$s" tcp4)" \
					"$(awk -v v="$(med "$topo" "$s" udp)" \
						'BEGIN { if (v != "") printf "%.1f", v / 1000 }')" |
					awk '{ while (sub(/  /, " ? ")) ; sub(/ $/, " ?"); print }'
			done
		done
	} >"$dat"
	for topo in $TOPOS; do
		note+=" $topo $(fmt "$(med "$topo" raw tcp1)" 0) Mbit/s,"
	done
	gnuplot <<-EOF >"$RUN_TMP/gnuplot.log" 2>&1 || bn_log "gnuplot failed: $(tail -n 3 "$RUN_TMP/gnuplot.log")"
		set terminal pngcairo size 1400,560 font "sans,10"
		set output "$OUT_DIR/chart.png"
		set datafile missing "?"
		set style data histograms
		set style histogram clustered gap 1
		set style fill solid 0.85 border -1
		set boxwidth 0.9
		set grid ytics
		set key top right
		set yrange [0:*]
		set bmargin 5
		set multiplot layout 1,2 title "IPOP-C bench: medians of $ROUNDS round(s) (raw underlay TCP 1 stream, not drawn:${note%,})"
		set title "iperf3 TCP"
		set ylabel "Mbit/s"
		plot "$dat" using 2:xtic(1) title "1 stream" lc rgb "#3465a4", \
			"" using 3 title "4 streams" lc rgb "#73d216"
		set title "UDP ${UDP_LEN} B datagrams, highest rate with < 0.1 % loss"
		set ylabel "kpackets/s"
		stats "$dat" using 4 nooutput
		if (STATS_records > 0) {
			plot "$dat" using 4:xtic(1) title "UDP" lc rgb "#f57900"
		}
		unset multiplot
	EOF
}
