#!/bin/bash
# bench/index-1m.sh -- how fast the index answers `queue list --country
# --asn --campaign` over a million messages. Writing a real million-message
# spool (3 million files) is out of reach of this sandbox's disk and time,
# so the index is filled directly with one million synthetic rows (the
# schema relaytrap itself created), and the exact query `queue list` runs
# is timed with sqlite3. Usage: bench/index-1m.sh [RELAYTRAP] [ROWS]
set -eu
RELAYTRAP=${1:-./relaytrap}
ROWS=${2:-1000000}
work=$(mktemp -d /var/tmp/rt-index-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/spool"/{tmp,new,cur,corrupt,sessions}
# let relaytrap create index.sqlite with the current schema
"$RELAYTRAP" -c /dev/null -s "$work/spool" queue list >/dev/null
db=$work/spool/index.sqlite
t0=$(date +%s.%N)
sqlite3 "$db" <<SQL
PRAGMA journal_mode = WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS - 1)
INSERT INTO messages (id, day, state, received, received_us, session,
    client_addr, client_port, helo, mail_from, rcpt_count, size, sha256,
    subject, auth_users, country, asn, campaign, verdict)
SELECT printf('%016x', 1795000000000000 + i * 1000), '20261126', 'cur',
    '2026-11-26T00:00:00.000Z', 1795000000000000 + i * 1000,
    printf('%016x', i), printf('198.51.%d.%d', (i / 250) % 250, i % 250),
    25, 'bot', printf('s%d@example.org', i % 5000), 1, 2048, '', 'subject',
    '', (CASE i % 7 WHEN 0 THEN 'DE' WHEN 1 THEN 'US' WHEN 2 THEN 'CN'
    WHEN 3 THEN 'RU' WHEN 4 THEN 'BR' WHEN 5 THEN 'IN' ELSE 'VN' END),
    64496 + (i % 500), printf('c%05d', i % 20000),
    CASE WHEN i % 1000 = 0 THEN 'relay_test' ELSE 'spam' END
FROM n;
COMMIT;
ANALYZE;
SQL
t1=$(date +%s.%N)
echo "filled $ROWS rows in $(echo "$t1 - $t0" | bc) s"
q() {	# the WHERE clause of queue_index_list(), one filter set
	local where=$1 t0 t1 n
	t0=$(date +%s.%N)
	n=$(sqlite3 "$db" "SELECT count(*) FROM (SELECT * FROM messages m WHERE $where ORDER BY id DESC LIMIT -1)")
	t1=$(date +%s.%N)
	printf '%-45s %8d rows %8.1f ms\n' "$where" "$n" "$(echo "($t1 - $t0) * 1000" | bc)"
}
q "country = 'DE'"
q "asn = 64500"
q "campaign = 'c00042'"
q "country = 'DE' AND asn = 64503"
q "verdict = 'relay_test'"
echo "query plan for --campaign:"
sqlite3 "$db" "EXPLAIN QUERY PLAN SELECT * FROM messages WHERE campaign = 'c00042' ORDER BY id DESC"
