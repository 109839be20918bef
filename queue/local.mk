noinst_LIBRARIES += queue/libqueue.a
queue_libqueue_a_SOURCES = queue/queue.h queue/queue_priv.h \
	queue/queue.c queue/queue_msg.c queue/queue_commit.c \
	queue/queue_journal.c \
	queue/queue_read.c queue/queue_session.c queue/queue_retention.c \
	queue/queue_tomb.c

check_PROGRAMS += tests/unit/test_queue tests/unit/test_queue_commit
TESTS += tests/unit/test_queue tests/unit/test_queue_commit
tests_unit_test_queue_SOURCES = tests/unit/test_queue.c
tests_unit_test_queue_LDADD = $(RT_QUEUE_LIBS) $(RT_EXT_LIBS)
tests_unit_test_queue_commit_SOURCES = tests/unit/test_queue_commit.c
tests_unit_test_queue_commit_LDADD = $(RT_QUEUE_LIBS) $(RT_EXT_LIBS)
include $(srcdir)/queue/index.mk
