#!/usr/bin/perl
# build-test-db.pl -- write a small MaxMind DB for the documentation ranges
# (RFC 5737 TEST-NET-1/2/3, RFC 3849 2001:db8::/32) with GeoIP2-style
# country, ASN (RFC 5398 documentation ASNs), ISP and organisation keys,
# for tests/unit/test_an_geoip. Needs Debian's libmaxmind-db-writer-perl.
#
# Usage: perl build-test-db.pl OUT.mmdb [6|4]
#   6 (default): IPv6 tree WITHOUT IPv4 aliases, so ::ffff:192.0.2.1 is
#                found only if the reader folds it to 192.0.2.1 itself;
#   4:           IPv4-only tree (IPv6 lookups must be "not found").
# Written for relaytrap after ../shared/data/mmdb/custom; CC0.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $out = shift or die "usage: $0 OUT.mmdb [6|4]\n";
my $ipv = shift // 6;
die "ip version must be 4 or 6\n" unless $ipv == 4 || $ipv == 6;

my %types = (
    country                        => 'map',
    registered_country             => 'map',
    iso_code                       => 'utf8_string',
    autonomous_system_number       => 'uint32',
    autonomous_system_organization => 'utf8_string',
    isp                            => 'utf8_string',
    organization                   => 'utf8_string',
);

my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => $ipv,
    record_size              => 28,
    database_type            => "RelayTrap-TestNet-IPv$ipv",
    languages                => ['en'],
    description              => { en => 'relaytrap test data for documentation ranges' },
    map_key_type_callback    => sub { $types{ $_[0] } },
    remove_reserved_networks => 0,    # the documentation ranges are reserved
    alias_ipv6_to_ipv4       => 0,
);

# net, country, registered country, ASN, AS org, ISP, organisation
my @records = (
    [ '192.0.2.0/24',     'NL', 'NL', 64496, 'Example Transit B.V.', 'Example ISP NL', 'TEST-NET-1 Org' ],
    [ '198.51.100.0/24',  'US', 'CA', 64497, 'Example Networks, Inc.', 'Example Cable', 'TEST-NET-2 Org' ],
    [ '203.0.113.0/24',   'JP', 'JP', 65536, 'Example KK', 'Example ISP JP', 'TEST-NET-3 Org' ],
    [ '203.0.113.128/25', 'KR', 'JP', 65537, 'Example Hosting Co., Ltd.', 'Example Hosting', 'Spam Source Customer' ],
);
push @records,
    [ '2001:db8::/32', 'DE', 'DE', 65551, 'Example GmbH', 'Example IPv6 ISP', 'IPv6 Documentation Org' ]
    if $ipv == 6;

for my $r (@records) {
    my ( $net, $cc, $reg, $asn, $asorg, $isp, $org ) = @$r;
    $net = "::$net" if $ipv == 6 && $net =~ /^\d+\.\d+\.\d+\.\d+\/(\d+)$/
        and $net =~ s{/(\d+)$}{'/' . ($1 + 96)}e;
    $tree->insert_network(
        $net,
        {
            country                        => { iso_code => $cc },
            registered_country             => { iso_code => $reg },
            autonomous_system_number       => $asn,
            autonomous_system_organization => $asorg,
            isp                            => $isp,
            organization                   => $org,
        }
    );
}

open my $fh, '>:raw', "$out.tmp" or die "cannot open $out.tmp: $!\n";
$tree->write_tree($fh);
close $fh or die "cannot write $out.tmp: $!\n";
rename "$out.tmp", $out or die "cannot rename to $out: $!\n";
