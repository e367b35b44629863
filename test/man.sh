#!/usr/bin/env bash
# The manual pages in man/: each renders without a single warning, both
# through man-db (`man --warnings -l`, what a user runs) and through groff
# itself (`groff -ww -man -z`), and they cannot drift from the programs:
#   - every option that `ipop-tincan --help`, `ipop-controller --help` and
#     `ipopctl --help` print (long and short forms) is the tag of an item
#     (.TP) of its page;
#   - every ipopctl command of `ipopctl --help`, and every option in its
#     Arguments lines, is the tag of an item of ipopctl(8);
#   - every metric family of tincan/metrics.c (when it exists) is the tag
#     of an item of ipop-tincan(8);
#   - every key of the example configurations etc/*.yaml is the tag of an
#     item of ipop-controller.yaml(5), and every configuration in that
#     page's EXAMPLES passes `ipop-controller --check-config`.
# Needs the built programs (make) but no root.  Prints TAP lines; exits 1
# when a check failed; without man or groff it prints one skipped line.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case ${BUILD:-build} in
/*) BIN=${BUILD} ;;
*) BIN=$ROOT/${BUILD:-build} ;;
esac
MAN=$ROOT/man
PAGES=(ipop-tincan.8 ipop-controller.8 ipopctl.8 ipop-controller.yaml.5)

# Without the tools: one skipped line (test/run-all counts it as skipped,
# and as failed under CI=true).
for t in man groff; do
	if ! command -v "$t" >/dev/null; then
		echo "ok 1 - man pages # SKIP $t not found (apt-get install man-db groff-base)"
		echo "1..1"
		exit 0
	fi
done

TMP=$(mktemp -d /tmp/ipop-man.XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT

# shellcheck source=test/lib/tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"

# quiet DESC CMD...: ok when CMD exits 0 and writes nothing to stderr.
quiet()
{
	local desc=$1
	shift
	if "$@" >/dev/null 2>"$TMP/err" && ! [[ -s $TMP/err ]]; then
		ok "$desc"
	else
		sed 's/^/# /' "$TMP/err"
		not_ok "$desc"
	fi
}

for p in "${PAGES[@]}"; do
	if [[ ! -f $MAN/$p ]]; then
		not_ok "man/$p exists"
		continue
	fi
	quiet "man/$p: man --warnings renders it without a warning" \
		env LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$MAN/$p"
	quiet "man/$p: groff -ww -man -z reports nothing" \
		groff -ww -man -z "$MAN/$p"
	name=${p%.*}
	sec=${p##*.}
	if grep -qix "\.TH ${name//./\\.} $sec .*" "$MAN/$p"; then
		ok "man/$p: .TH names $name($sec)"
	else
		not_ok "man/$p: .TH names $name($sec)"
	fi
done

# tags PAGE: the tag line of every .TP item, with roff's \- made plain -.
tags()
{
	awk 'prev == ".TP" || prev == ".TQ" { print } { prev = $1 }' "$1" |
		sed 's/\\-/-/g; s/\\f[BIRP]//g'
}

# documented TAGS OPT: OPT (e.g. --socket or -s) is a whole word of a tag.
documented()
{
	grep -qE "(^|[^A-Za-z0-9-])$2([^A-Za-z0-9-]|$)" "$1"
}

# glib_opts HELP: the long and short options of a GOption --help text
# (the first column of its option lines, e.g. "-s, --socket=PATH").
glib_opts()
{
	grep -E '^  +(-[A-Za-z], )?--[a-z]' "$1" | sed -E 's/^ +//; s/  .*//' |
		grep -oE -- '(-[A-Za-z]|--[a-z][a-z0-9-]*)'
}

# check_options PROG PAGE: every option of PROG --help is a tag of PAGE.
check_options()
{
	local prog=$1 page=$2 opt missing=()
	if [[ ! -x $BIN/$prog ]]; then
		not_ok "$prog --help options in $page ($BIN/$prog not built; run make)"
		return
	fi
	"$BIN/$prog" --help >"$TMP/$prog.help" 2>&1
	tags "$MAN/$page" >"$TMP/$page.tags"
	if [[ $prog == ipopctl ]]; then
		sed -n '/^Options:/,/^$/p' "$TMP/$prog.help" |
			grep -oE '^  --[a-z-]+' | sed 's/^ *//' >"$TMP/$prog.opts"
	else
		glib_opts "$TMP/$prog.help" | sort -u >"$TMP/$prog.opts"
	fi
	if ! [[ -s $TMP/$prog.opts ]]; then
		not_ok "$prog --help printed options to compare"
		return
	fi
	while read -r opt; do
		documented "$TMP/$page.tags" "$opt" || missing+=("$opt")
	done <"$TMP/$prog.opts"
	if ((${#missing[@]} == 0)); then
		ok "$page describes all $(wc -l <"$TMP/$prog.opts") options of $prog --help"
	else
		not_ok "$page describes every option of $prog --help (missing: ${missing[*]})"
	fi
}

check_options ipop-tincan ipop-tincan.8
check_options ipop-controller ipop-controller.8
check_options ipopctl ipopctl.8

# Every command of ipopctl --help, and every option of its Arguments lines.
if [[ -s $TMP/ipopctl.help ]]; then
	sed -n '/^Commands:/,/^$/p' "$TMP/ipopctl.help" |
		grep -oE '^  [a-z][a-z-]*' | sed 's/^ *//' >"$TMP/cmds"
	missing=()
	while read -r cmd; do
		grep -qE "^\.B[IR]? $cmd( |$)" "$TMP/ipopctl.8.tags" ||
			missing+=("$cmd")
	done <"$TMP/cmds"
	if [[ -s $TMP/cmds ]] && ((${#missing[@]} == 0)); then
		ok "ipopctl.8 has an item for each of the $(wc -l <"$TMP/cmds") commands of ipopctl --help"
	else
		not_ok "ipopctl.8 has an item for each command of ipopctl --help (missing: ${missing[*]:-no commands found})"
	fi
	sed -n '/^Arguments:/,/^$/p' "$TMP/ipopctl.help" |
		grep -oE -- '--[a-z][a-z0-9-]*' | sort -u >"$TMP/cmdopts"
	missing=()
	while read -r opt; do
		documented "$TMP/ipopctl.8.tags" "$opt" ||
			grep -qF -- "$opt" <(sed 's/\\-/-/g' "$MAN/ipopctl.8" |
				grep -E '^\.(BI|BR|RB|B) ') || missing+=("$opt")
	done <"$TMP/cmdopts"
	if ((${#missing[@]} == 0)); then
		ok "ipopctl.8 names all $(wc -l <"$TMP/cmdopts") command options of ipopctl --help"
	else
		not_ok "ipopctl.8 names every command option of ipopctl --help (missing: ${missing[*]})"
	fi
fi

# Every metric family tincan writes (tincan/metrics.c, where the names are
# string literals) is an item of ipop-tincan(8).
if [[ -f $ROOT/tincan/metrics.c ]]; then
	grep -oE '"ipop_[a-z0-9_]+"' "$ROOT/tincan/metrics.c" | tr -d '"' |
		sort -u >"$TMP/metrics"
	tags "$MAN/ipop-tincan.8" >"$TMP/ipop-tincan.8.tags"
	missing=()
	while read -r m; do
		documented "$TMP/ipop-tincan.8.tags" "$m" || missing+=("$m")
	done <"$TMP/metrics"
	if [[ -s $TMP/metrics ]] && ((${#missing[@]} == 0)); then
		ok "ipop-tincan.8 describes all $(wc -l <"$TMP/metrics") metric families of tincan/metrics.c"
	else
		not_ok "ipop-tincan.8 describes every metric family of tincan/metrics.c (missing: ${missing[*]:-none found})"
	fi
fi

# Every key used in the example configurations is an item of the page.
tags "$MAN/ipop-controller.yaml.5" >"$TMP/yaml.tags"
grep -hoE '^ *(- )?[a-z_0-9]+:' "$ROOT"/etc/*.yaml | sed -E 's/^ *(- )?//; s/:$//' |
	sort -u >"$TMP/keys"
missing=()
while read -r key; do
	grep -qE "^\.BR? $key( |$)" "$TMP/yaml.tags" || missing+=("$key")
done <"$TMP/keys"
if [[ -s $TMP/keys ]] && ((${#missing[@]} == 0)); then
	ok "ipop-controller.yaml.5 describes all $(wc -l <"$TMP/keys") keys of etc/*.yaml"
else
	not_ok "ipop-controller.yaml.5 describes every key of etc/*.yaml (missing: ${missing[*]:-no keys found})"
fi

# The configurations shown in the page's EXAMPLES are valid.
if [[ -x $BIN/ipop-controller ]]; then
	mkdir -p "$TMP/ex"
	printf 'example-password\n' >"$TMP/ex/xmpp-password"
	head -c 32 /dev/urandom >"$TMP/ex/group-secret"
	chmod 600 "$TMP/ex/xmpp-password" "$TMP/ex/group-secret"
	awk -v dir="$TMP/ex" '
		/^\.SH EXAMPLES/ { ex = 1 }
		ex && /^\.EX/ { n++; f = dir "/example" n ".yaml"; on = 1; next }
		/^\.EE/ { on = 0 }
		on { gsub(/\\-/, "-"); print > f }
	' "$MAN/ipop-controller.yaml.5"
	# The first example holds a TURN password: mode 0600 as the page says.
	chmod 600 "$TMP"/ex/example*.yaml 2>/dev/null
	nex=0
	for f in "$TMP"/ex/example*.yaml; do
		[[ -e $f ]] || continue
		grep -q '^xmpp:' "$f" || continue
		nex=$((nex + 1))
		quiet "ipop-controller.yaml.5: example $(basename "$f" .yaml) passes --check-config" \
			"$BIN/ipop-controller" --config "$f" --check-config
	done
	((nex > 0)) || not_ok "ipop-controller.yaml.5 shows an example configuration"
else
	not_ok "ipop-controller.yaml.5 examples checked ($BIN/ipop-controller not built)"
fi

echo "1..$N"
exit $FAILED
