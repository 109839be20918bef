# analyzers/: the worker role, its analyzers (one file each) and tests.
# Only this folder and reports/ may use GMime, libcurl, libspf2, mmdb.
noinst_LIBRARIES += analyzers/libanalyzers.a
analyzers_libanalyzers_a_SOURCES = analyzers/worker.c analyzers/worker.h \
	analyzers/worker_forward.c analyzers/worker_forward.h \
	analyzers/an.h analyzers/an_dns.h analyzers/an_registry.c \
	analyzers/an_runner.c analyzers/an_runner.h
analyzers_libanalyzers_a_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
include $(srcdir)/analyzers/relaytest.mk
include $(srcdir)/analyzers/geoip.mk
include $(srcdir)/analyzers/spf.mk
include $(srcdir)/analyzers/content.mk
include $(srcdir)/analyzers/origin.mk
include $(srcdir)/analyzers/campaign.mk
