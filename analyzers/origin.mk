# analyzers/origin.mk: the origin analyzer (issue 4): the client's PTR and
# FCrDNS, the Received chain parsed into hops, the most likely origin; and
# an_dns, the blocking DNS lookups analyzers use over reports/resolver.c.
analyzers_libanalyzers_a_SOURCES += analyzers/an_origin.c \
	analyzers/an_received.c analyzers/an_received.h \
	analyzers/an_dns.c

RT_ORIGIN_TEST_LDADD = analyzers/libanalyzers.a reports/libreports.a \
	smtpd/libsmtpd.a $(RT_QUEUE_LIBS) $(RT_ANALYZE_LIBS) $(RT_EXT_LIBS)
check_PROGRAMS += tests/unit/test_an_received
TESTS += tests/unit/test_an_received
tests_unit_test_an_received_SOURCES = tests/unit/test_an_received.c
tests_unit_test_an_received_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
tests_unit_test_an_received_LDADD = $(RT_ORIGIN_TEST_LDADD)
check_PROGRAMS += tests/unit/test_an_origin
TESTS += tests/unit/test_an_origin
tests_unit_test_an_origin_SOURCES = tests/unit/test_an_origin.c
tests_unit_test_an_origin_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
tests_unit_test_an_origin_LDADD = $(RT_ORIGIN_TEST_LDADD)
check_PROGRAMS += tests/unit/test_an_dns
TESTS += tests/unit/test_an_dns
tests_unit_test_an_dns_SOURCES = tests/unit/test_an_dns.c
tests_unit_test_an_dns_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
tests_unit_test_an_dns_LDADD = $(RT_ORIGIN_TEST_LDADD)

if ENABLE_FUZZING
FUZZ_TARGETS += tests/fuzz/fuzz_received
tests_fuzz_fuzz_received_SOURCES = tests/fuzz/fuzz_received.c
tests_fuzz_fuzz_received_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
tests_fuzz_fuzz_received_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_received_LDADD = $(RT_ORIGIN_TEST_LDADD)
endif
