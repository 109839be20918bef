# reports/forward.mk -- the relay-test forwarder (issue 3): caps and the
# forward queue (bookkeeping, always built) and the SMTP delivery, which
# ./configure --disable-forwarding leaves out entirely.
# Included from reports/local.mk after resolver.mk, which defines
# reports/libreports.a.
reports_libreports_a_SOURCES += reports/fwd_caps.c reports/fwd_caps.h \
	reports/fwd_queue.c reports/fwd_queue.h

check_PROGRAMS += tests/unit/test_fwd_caps tests/unit/test_fwd_queue
TESTS += tests/unit/test_fwd_caps tests/unit/test_fwd_queue
tests_unit_test_fwd_caps_SOURCES = tests/unit/test_fwd_caps.c
tests_unit_test_fwd_caps_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
tests_unit_test_fwd_caps_LDADD = reports/libreports.a $(RT_QUEUE_LIBS) \
	$(RT_ANALYZE_LIBS) $(RT_EXT_LIBS)
tests_unit_test_fwd_queue_SOURCES = tests/unit/test_fwd_queue.c
tests_unit_test_fwd_queue_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
tests_unit_test_fwd_queue_LDADD = reports/libreports.a $(RT_QUEUE_LIBS) \
	$(RT_ANALYZE_LIBS) $(RT_EXT_LIBS)

if ENABLE_FORWARDING
reports_libreports_a_SOURCES += reports/fwd_deliver.c reports/fwd_deliver.h

# needs Postfix's smtp-sink (the test skips when it is missing)
check_PROGRAMS += tests/unit/test_fwd_deliver
TESTS += tests/unit/test_fwd_deliver
tests_unit_test_fwd_deliver_SOURCES = tests/unit/test_fwd_deliver.c
tests_unit_test_fwd_deliver_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
tests_unit_test_fwd_deliver_LDADD = reports/libreports.a $(RT_QUEUE_LIBS) \
	$(RT_ANALYZE_LIBS) $(RT_EXT_LIBS)
endif
