# smtpd/persona.mk -- the personas (what the trap says, per emulated MTA)
# and their unit test.
smtpd_libsmtpd_a_SOURCES += \
	smtpd/persona.c smtpd/persona_tables.c smtpd/persona_int.h

check_PROGRAMS += tests/unit/test_persona
TESTS += tests/unit/test_persona
tests_unit_test_persona_SOURCES = tests/unit/test_persona.c
tests_unit_test_persona_LDADD = $(RT_SMTPD_LIBS) $(RT_EXT_LIBS)
