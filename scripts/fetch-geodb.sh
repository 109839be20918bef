#!/bin/sh
# fetch-geodb.sh -- install relaytrap's bundled default GeoIP data:
#   country.mmdb  the npm package @ip-location-db/geo-whois-asn-country-mmdb
#                 (file geo-whois-asn-country.mmdb, key "country_code")
#   asn.mmdb      built here from the CSV of the npm package
#                 @ip-location-db/asn with libmaxmind-db-writer-perl
#                 (GeoLite2-ASN keys: autonomous_system_number,
#                 autonomous_system_organization)
# plus the packages' licence files under LICENSES/, ATTRIBUTION.txt and
# VERSION. Licences and attribution: docs/GEOIP.md.
#
# Usage: scripts/fetch-geodb.sh [-f] [DIR]     (DIR default ./var/geoip)
#   -f  rebuild even if VERSION says the installed data is current
# Needs: npm (registry access), tar, perl with MaxMind::DB::Writer::Tree
# (Debian: libmaxmind-db-writer-perl). mmdblookup (mmdb-bin) is used for a
# final check when present. Files are replaced atomically; running it
# again with nothing new published does nothing. The tests never run it.
set -eu

COUNTRY_PKG=@ip-location-db/geo-whois-asn-country-mmdb
ASN_PKG=@ip-location-db/asn

die() {
	echo "fetch-geodb: error: $*" >&2
	exit 1
}
say() {
	echo "fetch-geodb: $*"
}

force=0
if [ "${1:-}" = "-f" ]; then
	force=1
	shift
fi
case "${1:-}" in
-h|--help)
	sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
	exit 0 ;;
-*)	die "unknown option $1 (usage: $0 [-f] [DIR])" ;;
esac
[ $# -le 1 ] || die "usage: $0 [-f] [DIR]"
dir=${1:-./var/geoip}

command -v npm >/dev/null 2>&1 ||
    die "npm not found (Debian: apt-get install npm)"
command -v tar >/dev/null 2>&1 || die "tar not found"
command -v perl >/dev/null 2>&1 || die "perl not found"
perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null ||
    die "perl module MaxMind::DB::Writer::Tree not found" \
	"(Debian: apt-get install libmaxmind-db-writer-perl)"

mkdir -p "$dir" || die "cannot create $dir"
[ -w "$dir" ] || die "$dir is not writable"

cv=$(npm view "$COUNTRY_PKG" version 2>/dev/null) ||
    die "cannot ask the npm registry for $COUNTRY_PKG (network? proxy?)"
av=$(npm view "$ASN_PKG" version 2>/dev/null) ||
    die "cannot ask the npm registry for $ASN_PKG (network? proxy?)"
want="$COUNTRY_PKG@$cv
$ASN_PKG@$av"
if [ $force -eq 0 ] && [ -s "$dir/country.mmdb" ] && [ -s "$dir/asn.mmdb" ] &&
    [ -f "$dir/VERSION" ] && [ "$(cat "$dir/VERSION")" = "$want" ]; then
	say "$dir is up to date ($COUNTRY_PKG@$cv, $ASN_PKG@$av)"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetch-geodb.XXXXXX") ||
    die "cannot create a temporary directory"
trap 'rm -rf "$tmp"' EXIT INT TERM

say "downloading $COUNTRY_PKG@$cv and $ASN_PKG@$av"
(cd "$tmp" && npm pack --silent "$COUNTRY_PKG@$cv" "$ASN_PKG@$av" \
    >npm-pack.out 2>npm-pack.err) ||
    die "npm pack failed: $(tail -3 "$tmp/npm-pack.err")"
mkdir "$tmp/country" "$tmp/asn"
set -- "$tmp"/ip-location-db-geo-whois-asn-country-mmdb-*.tgz
[ -f "$1" ] || die "npm pack did not produce the $COUNTRY_PKG tarball"
tar -xzf "$1" -C "$tmp/country" || die "cannot unpack $1"
set -- "$tmp"/ip-location-db-asn-*.tgz
[ -f "$1" ] || die "npm pack did not produce the $ASN_PKG tarball"
tar -xzf "$1" -C "$tmp/asn" || die "cannot unpack $1"

c=$tmp/country/package/geo-whois-asn-country.mmdb
[ -s "$c" ] || die "$COUNTRY_PKG has no geo-whois-asn-country.mmdb"
for f in asn-ipv4.csv asn-ipv6.csv; do
	[ -s "$tmp/asn/package/$f" ] || die "$ASN_PKG has no $f"
done

say "building asn.mmdb from $ASN_PKG CSV (about half a minute)"
cat >"$tmp/build-asn.pl" <<'EOF'
# build-asn.pl OUT CSV... -- ranges "start,end,asn,org" (org maybe quoted)
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my ( $out, $version, @csv ) = @ARGV;
my %types = (
    autonomous_system_number       => 'uint32',
    autonomous_system_organization => 'utf8_string',
);
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version            => 6,
    record_size           => 28,
    database_type         => 'ip-location-db-ASN',
    languages             => ['en'],
    description           => { en => "\@ip-location-db/asn $version "
            . '(CC BY 4.0: RouteViews, DB-IP, NRO), built by relaytrap' },
    map_key_type_callback => sub { $types{ $_[0] } },
);
my $n = 0;
for my $f (@csv) {
    open my $fh, '<:encoding(UTF-8)', $f or die "cannot open $f: $!\n";
    while ( my $line = <$fh> ) {
        $line =~ s/\r?\n\z//;
        next if $line eq '';
        my ( $start, $end, $asn, $org ) =
            $line =~ /\A([^,]+),([^,]+),(\d+),(.*)\z/
            or die "$f:$.: not start,end,asn,org\n";
        if ( $org =~ /\A"(.*)"\z/s ) {
            ( $org = $1 ) =~ s/""/"/g;
        }
        my %rec = ( autonomous_system_number => $asn + 0 );
        $rec{autonomous_system_organization} = $org if length $org;
        $tree->insert_range( $start, $end, \%rec );
        $n++;
    }
    close $fh;
}
die "no ranges read\n" if $n == 0;
open my $o, '>:raw', $out or die "cannot open $out: $!\n";
$tree->write_tree($o);
close $o or die "cannot write $out: $!\n";
print "$n ranges\n";
EOF
perl "$tmp/build-asn.pl" "$tmp/asn.mmdb" "$av" \
    "$tmp/asn/package/asn-ipv4.csv" "$tmp/asn/package/asn-ipv6.csv" \
    >"$tmp/build.out" 2>"$tmp/build.err" ||
    die "building asn.mmdb failed: $(tail -3 "$tmp/build.err")"
say "asn.mmdb: $(cat "$tmp/build.out")"

if command -v mmdblookup >/dev/null 2>&1; then
	mmdblookup --file "$c" --ip 1.1.1.1 country_code >/dev/null 2>&1 ||
	    die "$c does not answer country_code for 1.1.1.1"
	mmdblookup --file "$tmp/asn.mmdb" --ip 1.1.1.1 \
	    autonomous_system_number >/dev/null 2>&1 ||
	    die "the built asn.mmdb does not answer 1.1.1.1"
fi

mkdir -p "$dir/LICENSES"
for f in "$tmp"/country/package/*LICENSE* "$tmp"/asn/package/*LICENSE* \
    "$tmp"/asn/package/MODIFICATIONS; do
	if [ -f "$f" ]; then
		cp "$f" "$dir/LICENSES/"
	fi
done
cp "$tmp/country/package/README.md" "$dir/LICENSES/README.country.md"
cp "$tmp/asn/package/README.md" "$dir/LICENSES/README.asn.md"
cat >"$dir/ATTRIBUTION.txt" <<EOF
country.mmdb: $COUNTRY_PKG@$cv by sapics (ip-location-db),
  https://github.com/sapics/ip-location-db, npm licence CC0-1.0; contains
  statistics data by the Number Resource Organization (NRO), nro.net,
  licensed CC BY 4.0.
asn.mmdb: built by relaytrap's scripts/fetch-geodb.sh from the CSV of
  $ASN_PKG@$av by sapics (ip-location-db): data by RouteViews
  (routeviews.org), DB-IP (IP to ASN Lite, https://db-ip.com) and the NRO
  (nro.net), licensed CC BY 4.0
  (https://creativecommons.org/licenses/by/4.0/). Modified: converted from
  CSV ranges to MaxMind DB format. "IP Geolocation by DB-IP".
EOF

# atomic replace: a running worker keeps its mapping of the old file
install_file() {
	if ! cp "$1" "$dir/.$2.tmp" || ! mv -f "$dir/.$2.tmp" "$dir/$2"; then
		die "cannot install $dir/$2"
	fi
}
install_file "$c" country.mmdb
install_file "$tmp/asn.mmdb" asn.mmdb
printf '%s\n' "$want" >"$dir/.VERSION.tmp" &&
    mv -f "$dir/.VERSION.tmp" "$dir/VERSION"
say "installed $dir/country.mmdb and $dir/asn.mmdb"
say "restart the worker (or relaytrapd) to load them"
