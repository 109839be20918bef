/*
 * worker.h -- the worker role of relaytrapd: keeps the SQLite index in
 * step with the spool and enforces retention. Later stages (analyzers,
 * forwarder, reporter) run here too. It reads the spool; it never talks
 * to an SMTP client.
 */
#ifndef RT_WORKER_H
#define RT_WORKER_H

#include "conf.h"
#include "queue.h"

void	 worker_run(struct conf *conf, struct queue *q, const char *spool,
	    int notify_fd);

#endif
