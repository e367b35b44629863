# shellcheck shell=bash
# Two federated XMPP servers for test/e2e/federation.sh, on top of lib.sh
# and lib-xmpp.sh: Prosody serving a.test in namespace "srva" and ejabberd
# serving b.test in namespace "srvb", each a host on the public network
# (pubhost_add), with plain c2s on 5222 for the controllers and s2s on 5269
# between them: STARTTLS required, certificates from a CA made for this run,
# verified on both sides (Prosody's s2s_secure_auth, ejabberd's s2s_cafile),
# no dialback.
#
# No DNS: each server runs in a private mount namespace in which the run's
# own hosts file (the other server's domain -> its address) and a
# resolv.conf naming only 127.0.0.1 (no server there: SRV queries fail at
# once) are bind-mounted over /etc/hosts and /etc/resolv.conf.  ejabberd
# finds the A record through getaddrinfo (the hosts file), Prosody through
# lua-unbound with `unbound = { hoststxt = ... }`; Prosody's own resolver
# reads no hosts file, so lua-unbound (Debian: lua-unbound, the lua5.4-unbound
# Debian's prosody recommends) is required.  The server namespaces have no
# default route, only one to 100.64.0.0/16.
#
# Source lib.sh, lib-xmpp.sh, then this file; call e2e_init.

declare -A FED_IP=([a.test]=100.64.31.2 [b.test]=100.64.32.2)
declare -A FED_NS=([a.test]=srva [b.test]=srvb)
FED_S2S_PORT=5269
FED_PROSODY_PID=""
FED_EJ_PID=""
FED_EJ_DIR=""
FED_EJ_OPTS=()	# ejabberdctl options of FED_EJ_DIR

# fed_have_unbound: Prosody can load lua-unbound.
fed_have_unbound()
{
	lua5.4 -e 'require "lunbound"' 2>/dev/null
}

# fed_network: pub, srva and srvb (no default route: nothing leaves
# 100.64.0.0/16 from there).
fed_network()
{
	local ns idx
	pub_add || return 1
	for ns in srva:31 srvb:32; do
		idx=${ns#*:}
		ns=${ns%:*}
		pubhost_add "$ns" "$idx" || return 1
		ip -n "$(ns_name "$ns")" route del default &&
			ip -n "$(ns_name "$ns")" route add 100.64.0.0/16 \
				via "100.64.$idx.1" || return 1
	done
}

# fed_certs: a CA and, per domain, a key and a certificate naming it
# (subjectAltName), under $E2E_TMP/pki; DOMAIN.pem is key + certificate
# (ejabberd's certfiles).
fed_certs()
{
	local p=$E2E_TMP/pki d
	mkdir -p "$p" || return 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout "$p/ca.key" -out "$p/ca.crt" -days 2 \
		-subj "/CN=ipop-c federation test CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || return 1
	for d in a.test b.test; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$p/$d.key" -out "$p/$d.csr" -subj "/CN=$d" \
			2>/dev/null || return 1
		printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\n' \
			"$d" >"$p/$d.ext"
		openssl x509 -req -in "$p/$d.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" \
			-CAcreateserial -days 2 -extfile "$p/$d.ext" \
			-out "$p/$d.crt" 2>/dev/null || return 1
		cat "$p/$d.key" "$p/$d.crt" >"$p/$d.pem"
	done
	# ejabberd reads them as user ejabberd (test keys, this run only).
	chmod 0755 "$p" && chmod 0644 "$p"/*
}

# fed_resolv DOMAIN: the hosts file and resolv.conf of DOMAIN's server
# (it finds the other domain by name).
fed_resolv()
{
	local d=$E2E_TMP/resolv-$1 other=a.test
	[[ $1 == a.test ]] && other=b.test
	mkdir -p "$d" && chmod 0755 "$d" || return 1
	printf '127.0.0.1\tlocalhost\n%s\t%s\n' "${FED_IP[$other]}" "$other" \
		>"$d/hosts"
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' \
		>"$d/resolv.conf"
	chmod 0644 "$d/hosts" "$d/resolv.conf"
}

# fed_bg DOMAIN LOG CMD...: CMD in DOMAIN's server namespace, in a private
# mount namespace with the run's hosts file and resolv.conf (nsbg: NSBG_PID
# is CMD's own pid, as unshare and sh exec).
fed_bg()
{
	local dom=$1 log=$2 r=$E2E_TMP/resolv-$1
	shift 2
	# shellcheck disable=SC2016
	nsbg "${FED_NS[$dom]}" "$log" unshare --mount --propagation private \
		sh -c 'mount --bind "$1" /etc/hosts &&
			mount --bind "$2" /etc/resolv.conf && shift 2 && exec "$@"' \
		sh "$r/hosts" "$r/resolv.conf" "$@"
}

# ---- Prosody for a.test ------------------------------------------------------

fed_prosody_setup()
{
	local d=$E2E_TMP/prosody-a p=$E2E_TMP/pki ip=${FED_IP[a.test]}
	mkdir -p "$d/data" && chmod 0700 "$d/data" || return 1
	fed_resolv a.test || return 1
	cat >"$d/prosody.cfg.lua" <<-EOF
		-- Prosody for a.test, federated with b.test (ipop-c federation test).
		run_as_root = true
		daemonize = false
		pidfile = "$d/prosody.pid"
		data_path = "$d/data"
		admin_socket = "$d/admin.sock"
		certificates = "$p"
		interfaces = { "$ip" }
		c2s_ports = { $XMPP_PORT }
		s2s_ports = { $FED_S2S_PORT }
		c2s_direct_tls_ports = { }
		s2s_direct_tls_ports = { }
		http_ports = { }
		https_ports = { }
		log = { info = "$E2E_TMP/prosody-a.log" }
		modules_enabled = { "roster"; "saslauth"; "tls"; "disco"; "ping"; "posix"; "register"; "admin_shell" }
		modules_disabled = { "offline"; "dialback" }
		allow_registration = true
		authentication = "internal_plain"
		storage = "internal"
		-- c2s: STARTTLS offered (the controllers use it), plain allowed for
		-- the test's registration client; s2s: always TLS, the peer
		-- authenticated by a certificate that verifies (the CA of this run)
		c2s_require_encryption = false
		allow_unencrypted_plain_auth = true
		s2s_require_encryption = true
		s2s_secure_auth = true
		ssl = {
			certificate = "$p/a.test.crt";
			key = "$p/a.test.key";
			cafile = "$p/ca.crt";
		}
		unbound = { hoststxt = "/etc/hosts"; resolvconf = "/etc/resolv.conf" }
		VirtualHost "a.test"
	EOF
	e2e_track_log "$E2E_TMP/prosody-a.log"
}

fed_prosody_start()
{
	fed_bg a.test "$E2E_TMP/prosody-a.out" \
		prosody -F --config "$E2E_TMP/prosody-a/prosody.cfg.lua"
	FED_PROSODY_PID=$NSBG_PID
	wait_until 10 ns_listens srva tcp "${FED_IP[a.test]}:$FED_S2S_PORT" &&
		wait_until 5 ns_listens srva tcp "${FED_IP[a.test]}:$XMPP_PORT"
}

# fed_prosodyctl ARGS...: prosodyctl against a.test's Prosody (its admin
# socket), from srva.
fed_prosodyctl()
{
	nsx srva timeout 20 prosodyctl --config "$E2E_TMP/prosody-a/prosody.cfg.lua" "$@"
}

fed_prosody_stop()
{
	[[ -n $FED_PROSODY_PID ]] || return 1
	kill -TERM "$FED_PROSODY_PID" 2>/dev/null || return 1
	pid_wait_gone 5 "$FED_PROSODY_PID" || return 1
	wait "$FED_PROSODY_PID" 2>/dev/null
	FED_PROSODY_PID=""
}

# ---- ejabberd for b.test -------------------------------------------------------

fed_ejabberd_setup()
{
	local d=$E2E_TMP/ejabberd-b p=$E2E_TMP/pki ip=${FED_IP[b.test]}
	FED_EJ_DIR=$d
	ejabberd_tree "$d" "ejabberd for b.test (ipop-c federation test)." ||
		return 1
	FED_EJ_OPTS=("${EJ_OPTS[@]}")
	fed_resolv b.test || return 1
	{
		cat <<-EOF
			# ejabberd for b.test, federated with a.test (ipop-c federation test).
			hosts:
			  - b.test
			loglevel: info
			log_rotate_count: 0
			certfiles:
			  - $p/b.test.pem
			# s2s: STARTTLS required both ways, the peer's certificate
			# verified against the CA of this run; no dialback
			s2s_use_starttls: required
			s2s_cafile: $p/ca.crt
			s2s_dns_timeout: 2
			s2s_dns_retries: 1
			listen:
			  -
			    port: $XMPP_PORT
			    ip: "$ip"
			    module: ejabberd_c2s
			    max_stanza_size: 262144
			    shaper: none
			    access: c2s
			    starttls: true
			    starttls_required: false
			  -
			    port: $FED_S2S_PORT
			    ip: "$ip"
			    module: ejabberd_s2s_in
			    max_stanza_size: 524288
		EOF
		ejabberd_yml_accounts s2s_shaper
	} >"$d/etc/ejabberd.yml"
	ejabberd_tree_done "$d"
}

fed_ejabberdctl()
{
	nsx srvb timeout 20 ejabberdctl "${FED_EJ_OPTS[@]}" "$@"
}

fed_ejabberd_start()
{
	fed_bg b.test "$E2E_TMP/ejabberd-b.out" ejabberdctl "${FED_EJ_OPTS[@]}" \
		foreground
	FED_EJ_PID=$NSBG_PID
	wait_until 20 ns_listens srvb tcp "${FED_IP[b.test]}:$XMPP_PORT" &&
		wait_until 5 ns_listens srvb tcp "${FED_IP[b.test]}:$FED_S2S_PORT"
}

fed_ejabberd_stop()
{
	[[ -n $FED_EJ_PID ]] || return 1
	fed_ejabberdctl stop >/dev/null 2>&1 || kill -TERM "$FED_EJ_PID" 2>/dev/null
	if ! pid_wait_gone 15 "$FED_EJ_PID"; then
		ns_kill_all "$(ns_name srvb)"
		return 1
	fi
	wait "$FED_EJ_PID" 2>/dev/null
	FED_EJ_PID=""
}

# fed_tls NAME: member NAME's controller logs in with STARTTLS required,
# verifying its server's certificate against the CA of this run.
fed_tls()
{
	sed -i "s|^  tls: off\$|  tls: required\n  ca_file: $E2E_TMP/pki/ca.crt|" \
		"$(ctl_dir "$1")/controller.yaml"
}

# ---- clients -------------------------------------------------------------------

# fed_client NS DOMAIN CMD ARGS...: xmpp-client.py from NS against DOMAIN's
# server.
fed_client()
{
	local ns=$1 dom=$2
	shift 2
	nsx "$ns" timeout 60 python3 "$XMPP_CLIENT" --server "${FED_IP[$dom]}" \
		--port "$XMPP_PORT" --domain "$dom" "$@"
}

# fed_s2s_count DOMAIN: s2s TCP connections established at DOMAIN's server
# (either direction).
fed_s2s_count()
{
	nsx "${FED_NS[$1]}" ss -Htn state established |
		awk -v p=":$FED_S2S_PORT" 'index($3, p) || index($4, p)' | wc -l
}
