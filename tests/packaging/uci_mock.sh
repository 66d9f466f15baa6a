# A stand-in for OpenWrt's /lib/functions.sh, enough for an init script's UCI
# reading: config_load FILE (a UCI file path, or a name under $UCI_CONFIG_DIR),
# config_get, config_get_bool, config_foreach, config_list_foreach. UCI files are
# shell syntax (`config TYPE 'name'`, `option k 'v'`, `list k 'v'`), so loading
# one is running it with these three words defined. Named sections only.

_uci_cur=
_uci_sections=

config() {
	_uci_cur="$2"
	_uci_sections="$_uci_sections $2"
	eval "_UCI_${2}__TYPE=\$1"
}

option() {
	eval "_UCI_${_uci_cur}_$1=\$2"
}

list() {
	local n
	eval "n=\${_UCI_${_uci_cur}_$1__N:-0}"
	n=$((n + 1))
	eval "_UCI_${_uci_cur}_$1__N=$n"
	eval "_UCI_${_uci_cur}_$1__$n=\$2"
}

config_load() {
	local f="$1"
	case "$f" in /*) ;; *) f="${UCI_CONFIG_DIR:-/etc/config}/$f" ;; esac
	_uci_sections=
	. "$f"
}

# config_get VAR SECTION OPTION [DEFAULT]. No locals here: VAR is often the
# caller's own local, which a local of the same name would hide (OpenWrt's
# functions are written the same way).
config_get() {
	eval "$1=\${_UCI_${2}_$3:-\${4:-}}"
}

# config_get_bool VAR SECTION OPTION [DEFAULT]: 1 or 0, as OpenWrt's.
config_get_bool() {
	config_get _uci_bool "$2" "$3" "$4"
	case "$_uci_bool" in
	1|on|true|yes|enabled) _uci_bool=1 ;;
	0|off|false|no|disabled) _uci_bool=0 ;;
	*) _uci_bool="${4:-0}" ;;
	esac
	eval "$1=\$_uci_bool"
}

# config_foreach FUNCTION [TYPE]
config_foreach() {
	local fn="$1" type="$2" s t
	for s in $_uci_sections; do
		eval "t=\$_UCI_${s}__TYPE"
		[ -z "$type" ] || [ "$t" = "$type" ] && "$fn" "$s"
	done
	return 0
}

# config_list_foreach SECTION OPTION FUNCTION
config_list_foreach() {
	local n i=1 v
	eval "n=\${_UCI_${1}_$2__N:-0}"
	while [ "$i" -le "$n" ]; do
		eval "v=\$_UCI_${1}_$2__$i"
		"$3" "$v"
		i=$((i + 1))
	done
}
