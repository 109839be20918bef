# analyzers/campaign.mk: the campaign analyzer (issue 4): normalised-text
# exact and ssdeep hashes, grouping into campaigns, its SQLite store
# (SPOOL/campaigns.sqlite); its unit test (docs/CAMPAIGNS.md).
analyzers_libanalyzers_a_SOURCES += analyzers/an_campaign.c \
	analyzers/an_campaign.h analyzers/an_campaign_store.c \
	analyzers/an_campaign_store.h

check_PROGRAMS += tests/unit/test_an_campaign
TESTS += tests/unit/test_an_campaign
tests_unit_test_an_campaign_SOURCES = tests/unit/test_an_campaign.c
tests_unit_test_an_campaign_CFLAGS = $(AM_CFLAGS) $(RT_ANALYZE_CFLAGS)
tests_unit_test_an_campaign_LDADD = analyzers/libanalyzers.a \
	reports/libreports.a smtpd/libsmtpd.a $(RT_QUEUE_LIBS) \
	$(RT_ANALYZE_LIBS) $(RT_EXT_LIBS)
