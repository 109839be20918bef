# analyzers/geoip.mk: the GeoIP analyzer (issue 4) and its unit test, which
# reads the MaxMind test databases under tests/fixtures/mmdb and builds one
# with tests/mmdb/build-test-db.pl (libmaxmind-db-writer-perl).
analyzers_libanalyzers_a_SOURCES += analyzers/an_geoip.c analyzers/an_geoip.h

check_PROGRAMS += tests/unit/test_an_geoip
TESTS += tests/unit/test_an_geoip
tests_unit_test_an_geoip_SOURCES = tests/unit/test_an_geoip.c
tests_unit_test_an_geoip_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
tests_unit_test_an_geoip_LDADD = analyzers/libanalyzers.a \
	reports/libreports.a smtpd/libsmtpd.a $(RT_QUEUE_LIBS) \
	$(RT_ANALYZE_LIBS) $(RT_EXT_LIBS)

EXTRA_DIST += tests/mmdb/build-test-db.pl
