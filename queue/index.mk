# queue_index: the SQLite index of the spool (queue_index.h)
queue_libqueue_a_SOURCES += queue/queue_index.c queue/queue_index.h \
	queue/queue_index_open.c queue/queue_index_priv.h

check_PROGRAMS += tests/unit/test_index
TESTS += tests/unit/test_index
tests_unit_test_index_SOURCES = tests/unit/test_index.c
tests_unit_test_index_LDADD = $(RT_QUEUE_LIBS) $(RT_EXT_LIBS)
