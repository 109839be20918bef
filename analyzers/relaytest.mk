# analyzers/relaytest.mk: the relay-test classifier (issue 3), its state
# store and the encodings of the trap's addresses; unit tests and the
# labelled-set measurement (docs/RELAYTEST.md).
analyzers_libanalyzers_a_SOURCES += analyzers/an_encode.c analyzers/an_encode.h \
	analyzers/an_relaytest.c analyzers/an_relaytest.h \
	analyzers/an_state.c analyzers/an_state.h

RT_AN_TEST_LDADD = analyzers/libanalyzers.a $(RT_QUEUE_LIBS) \
	$(RT_ANALYZE_LIBS) $(RT_EXT_LIBS)

check_PROGRAMS += tests/unit/test_an_encode tests/unit/test_an_state \
	tests/unit/test_an_relaytest tests/unit/test_an_labelled
TESTS += tests/unit/test_an_encode tests/unit/test_an_state \
	tests/unit/test_an_relaytest tests/unit/test_an_labelled
tests_unit_test_an_encode_SOURCES = tests/unit/test_an_encode.c
tests_unit_test_an_encode_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
tests_unit_test_an_encode_LDADD = $(RT_AN_TEST_LDADD)
tests_unit_test_an_state_SOURCES = tests/unit/test_an_state.c
tests_unit_test_an_state_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
tests_unit_test_an_state_LDADD = $(RT_AN_TEST_LDADD)
tests_unit_test_an_relaytest_SOURCES = tests/unit/test_an_relaytest.c
tests_unit_test_an_relaytest_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
tests_unit_test_an_relaytest_LDADD = $(RT_AN_TEST_LDADD)
tests_unit_test_an_labelled_SOURCES = tests/unit/test_an_labelled.c
tests_unit_test_an_labelled_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
tests_unit_test_an_labelled_LDADD = $(RT_AN_TEST_LDADD)
