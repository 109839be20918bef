noinst_LIBRARIES += smtpd/libsmtpd.a
smtpd_libsmtpd_a_SOURCES = \
	smtpd/smtp_cmd.h smtpd/smtp_data.h smtpd/proxy.h smtpd/smtp_auth.h \
	smtpd/persona.h
# parsers (smtp_cmd.c, smtp_addr.c, smtp_data.c, proxy.c, smtp_auth.c),
# their unit tests and fuzz targets
include $(srcdir)/smtpd/parsers.mk
# personas and their unit tests
include $(srcdir)/smtpd/persona.mk
