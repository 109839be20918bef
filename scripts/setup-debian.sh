#!/bin/sh
# setup-debian.sh -- install what relaytrap needs on Debian 12 and build it.
# Run from anywhere, as root (or with sudo available). Idempotent.
set -eu
cd "$(dirname "$0")/.."

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

PACKAGES="build-essential autoconf automake libtool pkg-config
 libevent-dev libssl-dev libjansson-dev libconfuse-dev libsqlite3-dev
 libmilter-dev libspf2-dev libmaxminddb-dev libcurl4-openssl-dev
 libgmime-3.0-dev libfuzzy-dev
 python3 swaks libnet-ssleay-perl curl openssl nmap postfix sqlite3 procps
 netcat-openbsd iproute2 unbound mmdb-bin libmaxmind-db-writer-perl
 clang libclang-rt-14-dev"

missing=
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
if [ -n "$missing" ]; then
	export DEBIAN_FRONTEND=noninteractive
	# Postfix provides smtp-source/smtp-sink for tests and bench; keep it
	# unconfigured so it never runs as the system MTA.
	echo "postfix postfix/main_mailer_type select No configuration" |
	    $SUDO debconf-set-selections
	$SUDO apt-get update -q
	$SUDO apt-get install -y -q --no-install-recommends $missing
fi

# npm fetches the bundled GeoIP/ASN data (scripts/fetch-geodb.sh); the
# machine's own Node.js usually brings it, else Debian's
if ! command -v npm >/dev/null 2>&1; then
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends npm
fi

# the unprivileged user the trap's roles run as
if ! id relaytrap >/dev/null 2>&1; then
	$SUDO useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin relaytrap
fi

[ -x configure ] || ./autogen.sh
[ -f Makefile ] || ./configure
make -j"$(nproc)"

# the bundled GeoIP/ASN data (docs/GEOIP.md) for the bundled configuration,
# whose spool ./var/spool finds it in ./var/geoip; relaytrap works without it
if [ "${RT_NO_GEODB:-0}" != 1 ]; then
	./scripts/fetch-geodb.sh ./var/geoip ||
	    echo "setup: GeoIP data not fetched (docs/GEOIP.md); the geoip" \
	    "analyzer will skip messages until it is" >&2
fi
