# cli: relaytrap(1), the operator's tool
bin_PROGRAMS += relaytrap
relaytrap_SOURCES = cli/relaytrap.c cli/cli.h cli/cli_queue.c \
	cli/cli_export.c cli/cli_session.c cli/cli_print.c
relaytrap_LDADD = $(RT_QUEUE_LIBS) $(RT_EXT_LIBS)
