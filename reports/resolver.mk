# reports/resolver.mk -- the one DNS resolver module (issue 3) and its test.
# The resolver runs libresolv's res_nquery() in worker threads: -lresolv
# joins RT_ANALYZE_LIBS so that every analyzer/report consumer links it.
RT_ANALYZE_LIBS += -lresolv

noinst_LIBRARIES += reports/libreports.a
reports_libreports_a_SOURCES = reports/resolver.c reports/resolver.h \
	reports/resolver_int.h
reports_libreports_a_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)

check_PROGRAMS += tests/unit/test_resolver
TESTS += tests/unit/test_resolver
tests_unit_test_resolver_SOURCES = tests/unit/test_resolver.c
tests_unit_test_resolver_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
tests_unit_test_resolver_LDADD = reports/libreports.a $(RT_QUEUE_LIBS) \
	$(RT_ANALYZE_LIBS) $(RT_EXT_LIBS)
EXTRA_DIST += tests/dns

# rsv_answer_parse() on hand-built answers; needs no DNS server
check_PROGRAMS += tests/unit/test_resolver_answer
TESTS += tests/unit/test_resolver_answer
tests_unit_test_resolver_answer_SOURCES = tests/unit/test_resolver_answer.c
tests_unit_test_resolver_answer_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
tests_unit_test_resolver_answer_LDADD = reports/libreports.a \
	$(RT_QUEUE_LIBS) $(RT_ANALYZE_LIBS) $(RT_EXT_LIBS)

if ENABLE_FUZZING
FUZZ_TARGETS += tests/fuzz/fuzz_dns_answer
tests_fuzz_fuzz_dns_answer_SOURCES = tests/fuzz/fuzz_dns_answer.c
tests_fuzz_fuzz_dns_answer_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
tests_fuzz_fuzz_dns_answer_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_dns_answer_LDADD = reports/libreports.a $(RT_QUEUE_LIBS) \
	$(RT_ANALYZE_LIBS) $(RT_EXT_LIBS)
endif
