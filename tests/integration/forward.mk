# forwarder end to end (issue 3): unbound + smtp-sink on loopback.
# fwdlib.py and tests/dns/forward-zones.conf are distributed with their
# folders (EXTRA_DIST tests/integration, tests/dns).
TESTS += tests/integration/test_forward.py
