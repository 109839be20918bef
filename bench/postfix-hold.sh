#!/bin/sh
# postfix-hold.sh - a private Postfix instance that accepts every message
# from anyone for anyone, puts it in the HOLD queue and delivers nothing
# (the configuration of /work/shared/peers/postfix: main.cf + master.cf).
#
# usage: postfix-hold.sh start|stop|empty|count|status
#
# Environment:
#   PF_DIR   instance directory (default /var/tmp/rt-bench-postfix); it
#            holds etc/ (config_directory), spool/ (queue_directory),
#            data/ and maillog.  Keep it on the same disk as the
#            relaytrapd spool you compare with.
#   PF_ADDR  listen address (default 127.0.0.1:2601; loopback only)
#   PF_PROCS smtpd process_limit (default 200: above the 100 concurrent
#            sessions of the largest load, so Postfix is not throttled
#            by its default of 100)
#
# start: (re)creates the configuration, starts `postfix -c DIR start` and
#        waits (deadline 30 s) until the port answers with 220.
# empty: postsuper -d ALL hold (between runs).
# count: number of messages in the hold queue.
# stop:  postfix -c DIR stop (waits until the master has exited).
set -eu

PF_DIR=${PF_DIR:-/var/tmp/rt-bench-postfix}
PF_ADDR=${PF_ADDR:-127.0.0.1:2601}
PF_PROCS=${PF_PROCS:-200}
CONF=$PF_DIR/etc
SPOOL=$PF_DIR/spool

case $PF_ADDR in
127.0.0.1:*) ;;
*) echo "postfix-hold.sh: PF_ADDR must be 127.0.0.1:PORT" >&2; exit 2 ;;
esac

# Wait until ADDR answers with a 220 banner, at most $2 seconds.
wait_banner() {
	python3 - "$1" "$2" <<'EOF'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        with socket.create_connection((host, int(port)), timeout=2) as s:
            if s.recv(512).startswith(b"220"):
                s.sendall(b"QUIT\r\n")
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
EOF
}

configure() {
	mkdir -p "$CONF" "$PF_DIR/data" "$SPOOL"
	# main.cf: the peer's, plus the private directories and a log file
	sed -e '/^queue_directory/d' -e '/^data_directory/d' \
	    /work/shared/peers/postfix/main.cf > "$CONF/main.cf.new"
	cat >> "$CONF/main.cf.new" <<EOF
# bench/postfix-hold.sh: private instance
queue_directory = $SPOOL
data_directory = $PF_DIR/data
maillog_file = $PF_DIR/maillog
mail_owner = postfix
setgid_group = postdrop
EOF
	mv "$CONF/main.cf.new" "$CONF/main.cf"
	# master.cf: the peer's, listening on PF_ADDR instead of 127.0.0.1:2525
	sed -e "s/^127\.0\.0\.1:2525 /$PF_ADDR /" \
	    /work/shared/peers/postfix/master.cf > "$CONF/master.cf"
	postconf -c "$CONF" -F '*/*/chroot = n'
	postconf -c "$CONF" -F "$PF_ADDR/inet/process_limit = $PF_PROCS"
	chown postfix "$PF_DIR/data"
}

case ${1:-} in
start)
	if postfix -c "$CONF" status >/dev/null 2>&1; then
		postfix -c "$CONF" stop >/dev/null 2>&1 || true
	fi
	configure
	postfix -c "$CONF" check
	# postfix start prints nothing without a terminal when it fails;
	# script(1) gives it one so the reason lands in the output
	if ! script -qec "postfix -c $CONF start" /dev/null >"$PF_DIR/start.log" 2>&1; then
		cat "$PF_DIR/start.log" >&2
		tail -5 "$PF_DIR/maillog" >&2 2>/dev/null || true
		exit 1
	fi
	if ! wait_banner "$PF_ADDR" 30; then
		echo "postfix-hold.sh: no banner on $PF_ADDR" >&2
		exit 1
	fi
	;;
stop)
	[ -f "$CONF/main.cf" ] || exit 0
	postfix -c "$CONF" stop >/dev/null 2>&1 || true
	# wait (deadline 30 s) until the master is gone
	i=0
	while postfix -c "$CONF" status >/dev/null 2>&1 && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	;;
empty)
	postsuper -c "$CONF" -d ALL hold 2>/dev/null || true
	;;
count)
	find "$SPOOL/hold" -type f 2>/dev/null | wc -l
	;;
status)
	postfix -c "$CONF" status
	;;
*)
	echo "usage: $0 start|stop|empty|count|status" >&2
	exit 2
	;;
esac
