# analyzers/spf.mk: the SPF analyzer (issue 4), its libspf2 DNS layer over
# an_dns, and its unit test (zone layer; unbound on loopback when an_dns.c
# is in the tree).
analyzers_libanalyzers_a_SOURCES += analyzers/an_spf.c analyzers/an_spf.h \
	analyzers/an_spf_dns.c analyzers/an_spf_dns.h

check_PROGRAMS += tests/unit/test_an_spf
TESTS += tests/unit/test_an_spf
tests_unit_test_an_spf_SOURCES = tests/unit/test_an_spf.c
tests_unit_test_an_spf_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
tests_unit_test_an_spf_LDADD = analyzers/libanalyzers.a reports/libreports.a \
	smtpd/libsmtpd.a $(RT_QUEUE_LIBS) $(RT_ANALYZE_LIBS) $(RT_EXT_LIBS)
