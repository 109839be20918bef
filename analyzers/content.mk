# analyzers/content.mk: the content analyzer (issue 4): GMime parsing
# shared by all analyzers (an_mime), decoded headers, text, URLs,
# addresses and attachments; its unit test.
analyzers_libanalyzers_a_SOURCES += analyzers/an_mime.c \
	analyzers/an_content.c analyzers/an_content.h \
	analyzers/an_urls.c analyzers/an_urls.h

check_PROGRAMS += tests/unit/test_an_content
TESTS += tests/unit/test_an_content
tests_unit_test_an_content_SOURCES = tests/unit/test_an_content.c
tests_unit_test_an_content_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
tests_unit_test_an_content_LDADD = analyzers/libanalyzers.a \
	reports/libreports.a smtpd/libsmtpd.a $(RT_QUEUE_LIBS) \
	$(RT_ANALYZE_LIBS) $(RT_EXT_LIBS)

# libFuzzer targets: the URL scanner, and the whole per-message path
# before lookups (an_mime, content, campaign text and hashes, relay-test
# classifier)
if ENABLE_FUZZING
RT_CONTENT_FUZZ_LDADD = analyzers/libanalyzers.a \
	reports/libreports.a smtpd/libsmtpd.a $(RT_QUEUE_LIBS) \
	$(RT_ANALYZE_LIBS) $(RT_EXT_LIBS)
FUZZ_TARGETS += tests/fuzz/fuzz_urls tests/fuzz/fuzz_message
tests_fuzz_fuzz_urls_SOURCES = tests/fuzz/fuzz_urls.c
tests_fuzz_fuzz_urls_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
tests_fuzz_fuzz_urls_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_urls_LDADD = $(RT_CONTENT_FUZZ_LDADD)
tests_fuzz_fuzz_message_SOURCES = tests/fuzz/fuzz_message.c
tests_fuzz_fuzz_message_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
tests_fuzz_fuzz_message_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_message_LDADD = $(RT_CONTENT_FUZZ_LDADD)
endif
