# cli: relaytrap(1), the operator's tool
bin_PROGRAMS += relaytrap
relaytrap_SOURCES = cli/relaytrap.c cli/cli.h cli/cli_queue.c \
	cli/cli_export.c cli/cli_session.c cli/cli_print.c \
	cli/cli_forward.c cli/cli_forward.h \
	cli/cli_analyze.c cli/cli_analyze.h \
	cli/cli_campaign.c cli/cli_campaign.h
relaytrap_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
relaytrap_LDADD = analyzers/libanalyzers.a reports/libreports.a \
	smtpd/libsmtpd.a $(RT_QUEUE_LIBS) $(RT_ANALYZE_LIBS) $(RT_EXT_LIBS)
