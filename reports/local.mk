# reports/: resolver, forwarder, abuse reports and their tests
