noinst_LIBRARIES += smtpd/libsmtpd.a
smtpd_libsmtpd_a_SOURCES = \
	smtpd/smtp_cmd.h smtpd/smtp_data.h smtpd/smtp_bdat.h smtpd/proxy.h \
	smtpd/smtp_auth.h \
	smtpd/persona.h \
	smtpd/smtp_session.c smtpd/smtp_session.h \
	smtpd/smtp_commands.c smtpd/smtp_tx.c smtpd/smtp_bdat_session.c \
	smtpd/smtp_bdat_exim.c \
	smtpd/smtp_auth_session.c \
	smtpd/smtp_record.c smtpd/smtp_tls.c smtpd/smtp_server.c
# parsers (smtp_cmd.c, smtp_addr.c, smtp_data.c, proxy.c, smtp_auth.c),
# their unit tests and fuzz targets
include $(srcdir)/smtpd/parsers.mk
# personas and their unit tests
include $(srcdir)/smtpd/persona.mk

sbin_PROGRAMS += relaytrapd
relaytrapd_SOURCES = smtpd/relaytrapd.c
relaytrapd_LDADD = analyzers/libanalyzers.a reports/libreports.a \
	smtpd/libsmtpd.a \
	$(RT_QUEUE_LIBS) $(RT_ANALYZE_LIBS) $(RT_EXT_LIBS)

check_PROGRAMS += tests/unit/test_smtp_session
TESTS += tests/unit/test_smtp_session
tests_unit_test_smtp_session_SOURCES = tests/unit/test_smtp_session.c
tests_unit_test_smtp_session_LDADD = $(RT_SMTPD_LIBS) $(RT_EXT_LIBS)
