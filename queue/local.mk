noinst_LIBRARIES += queue/libqueue.a
queue_libqueue_a_SOURCES = queue/queue.h
