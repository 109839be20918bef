# smtpd/parsers.mk -- the pure network-data parsers of smtpd, their unit
# tests and (with --enable-fuzzing, clang) their libFuzzer targets; the
# analyzers/ and reports/ .mk files add theirs to FUZZ_TARGETS.
smtpd_libsmtpd_a_SOURCES += \
	smtpd/smtp_cmd.c smtpd/smtp_addr.c smtpd/smtp_pfaddr.c \
	smtpd/smtp_data.c smtpd/smtp_bdat.c smtpd/proxy.c smtpd/smtp_auth.c

PARSER_TESTS = \
	tests/unit/test_smtp_cmd tests/unit/test_smtp_addr \
	tests/unit/test_smtp_pfaddr tests/unit/test_smtp_data tests/unit/test_proxy \
	tests/unit/test_smtp_auth tests/unit/test_smtp_bdat
check_PROGRAMS += $(PARSER_TESTS)
TESTS += $(PARSER_TESTS)
tests_unit_test_smtp_cmd_SOURCES = tests/unit/test_smtp_cmd.c
tests_unit_test_smtp_cmd_LDADD = $(RT_SMTPD_LIBS) $(RT_EXT_LIBS)
tests_unit_test_smtp_addr_SOURCES = tests/unit/test_smtp_addr.c
tests_unit_test_smtp_addr_LDADD = $(RT_SMTPD_LIBS) $(RT_EXT_LIBS)
tests_unit_test_smtp_pfaddr_SOURCES = tests/unit/test_smtp_pfaddr.c
tests_unit_test_smtp_pfaddr_LDADD = $(RT_SMTPD_LIBS) $(RT_EXT_LIBS)
tests_unit_test_smtp_data_SOURCES = tests/unit/test_smtp_data.c
tests_unit_test_smtp_data_LDADD = $(RT_SMTPD_LIBS) $(RT_EXT_LIBS)
tests_unit_test_proxy_SOURCES = tests/unit/test_proxy.c
tests_unit_test_proxy_LDADD = $(RT_SMTPD_LIBS) $(RT_EXT_LIBS)
tests_unit_test_smtp_auth_SOURCES = tests/unit/test_smtp_auth.c
tests_unit_test_smtp_auth_LDADD = $(RT_SMTPD_LIBS) $(RT_EXT_LIBS)
tests_unit_test_smtp_bdat_SOURCES = tests/unit/test_smtp_bdat.c
tests_unit_test_smtp_bdat_LDADD = $(RT_SMTPD_LIBS) $(RT_EXT_LIBS)

EXTRA_DIST += tests/fuzz/run.sh tests/fuzz/corpus

if ENABLE_FUZZING
FUZZ_TARGETS = \
	tests/fuzz/fuzz_smtp_cmd tests/fuzz/fuzz_smtp_addr \
	tests/fuzz/fuzz_proxy tests/fuzz/fuzz_smtp_data \
	tests/fuzz/fuzz_smtp_auth tests/fuzz/fuzz_smtp_bdat
noinst_PROGRAMS += $(FUZZ_TARGETS)
FUZZ_LDADD = smtpd/libsmtpd.a $(RT_BASE_LIBS) $(RT_EXT_LIBS)
tests_fuzz_fuzz_smtp_cmd_SOURCES = tests/fuzz/fuzz_smtp_cmd.c
tests_fuzz_fuzz_smtp_cmd_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_smtp_cmd_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_smtp_addr_SOURCES = tests/fuzz/fuzz_smtp_addr.c
tests_fuzz_fuzz_smtp_addr_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_smtp_addr_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_proxy_SOURCES = tests/fuzz/fuzz_proxy.c
tests_fuzz_fuzz_proxy_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_proxy_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_smtp_data_SOURCES = tests/fuzz/fuzz_smtp_data.c
tests_fuzz_fuzz_smtp_data_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_smtp_data_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_smtp_auth_SOURCES = tests/fuzz/fuzz_smtp_auth.c
tests_fuzz_fuzz_smtp_auth_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_smtp_auth_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_smtp_bdat_SOURCES = tests/fuzz/fuzz_smtp_bdat.c
tests_fuzz_fuzz_smtp_bdat_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_smtp_bdat_LDADD = $(FUZZ_LDADD)
fuzz: $(FUZZ_TARGETS)
endif
