#!/bin/sh
# tests/dns/unbound-conf.sh DIR PORT [v6] -- print an unbound.conf that
# serves tests/dns/zones.conf on 127.0.0.1@PORT (and ::1@PORT with "v6"),
# in the foreground, unprivileged paths under DIR, never recursing.
# Run: unbound -d -c DIR/unbound.conf (the caller starts, polls, kills it).
set -eu
dir=$1 port=$2 v6=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
echo "server:"
echo "	interface: 127.0.0.1@$port"
[ "$v6" = v6 ] && echo "	interface: ::1@$port"
cat <<CONF
	port: $port
	do-daemonize: no
	chroot: ""
	username: ""
	directory: "$dir"
	pidfile: "$dir/unbound.pid"
	use-syslog: no
	logfile: ""
	verbosity: 1
	num-threads: 1
	do-ip6: $([ "$v6" = v6 ] && echo yes || echo no)
	access-control: 127.0.0.0/8 allow
	access-control: ::1 allow
	do-not-query-localhost: no
	include: "$here/zones.conf"
remote-control:
	control-enable: no
CONF
