/*
 * flushbench.c -- the flush a one-session load waits for, on the file
 * system holding DIR: the commit journal's write of one record (BYTES,
 * default 4872: a 2 KB message with its envelope) at the next offset of a
 * written, zero-filled segment, then fdatasync(), N times with a pause
 * between (a client's round trip: GAP microseconds, default 300), as
 * relaytrapd's journal thread does it at 1:1 and 1:10. Prints the
 * fdatasync() latency's 10th, 50th and 90th percentile in milliseconds.
 *
 * MODE says what else happens on the file system during each flush:
 *   alone  nothing (the floor);
 *   beside a second thread makes what the committer threads make for the
 *          same message at the same moment: a session record written to
 *          a temporary file and renamed, a message directory with two
 *          files, renamed from tmp/ into new/;
 *   after  the same files, made by the same thread after the flush
 *          (serial: the flush is what it is alone, the cycle is longer).
 *
 * It bounds what any storing server can do on this disk: at 1:10 a
 * message's 250 waits for its own flush and the client for the 250, so
 * no server that flushes before it answers exceeds 1 / (p50 + the time
 * smtp-sink takes per message).
 *
 * Build and run (DIR an empty directory; the files stay in it):
 *   cc -O2 -pthread -o flushbench bench/flushbench.c
 *   ./flushbench DIR [alone|beside|after] [N] [BYTES] [GAP]
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum fb_mode { FB_ALONE, FB_BESIDE, FB_AFTER };

static pthread_mutex_t	 fb_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 fb_cv = PTHREAD_COND_INITIALIZER;
static bool		 fb_go, fb_stop;
static char		 fb_buf[8192];

static double
fb_now(void)
{
	struct timespec	 t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
fb_die(const char *what)
{
	fprintf(stderr, "flushbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* write len bytes to a new file at path, or die */
static void
fb_file(const char *path, size_t len, int flags)
{
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | flags, 0640)) == -1)
		fb_die(path);
	if (write(fd, fb_buf, len) != (ssize_t)len)
		fb_die(path);
	close(fd);
}

/* what the committer threads make for message i (sizes of a 2 KB one) */
static void
fb_make(unsigned i)
{
	char	 a[64], b[64];

	snprintf(a, sizeof(a), "sessions/.%u.tmp", i);
	snprintf(b, sizeof(b), "sessions/%u.json", i);
	fb_file(a, 1128, O_TRUNC);
	if (rename(a, b) == -1)
		fb_die(a);
	snprintf(a, sizeof(a), "tmp/%u", i);
	if (mkdir(a, 0750) == -1)
		fb_die(a);
	snprintf(b, sizeof(b), "tmp/%u/message", i);
	fb_file(b, 2216, O_EXCL);
	snprintf(b, sizeof(b), "tmp/%u/envelope.json", i);
	fb_file(b, 1384, O_EXCL);
	snprintf(b, sizeof(b), "new/%u", i);
	if (rename(a, b) == -1)
		fb_die(a);
}

/* the committer's thread: one message's files each time it is told */
static void *
fb_committer(void *arg)
{
	unsigned i = 0;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&fb_mu);
		while (!fb_go && !fb_stop)
			pthread_cond_wait(&fb_cv, &fb_mu);
		if (fb_stop) {
			pthread_mutex_unlock(&fb_mu);
			return NULL;
		}
		fb_go = false;
		pthread_mutex_unlock(&fb_mu);
		fb_make(i++);
	}
}

static int
fb_cmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	enum fb_mode mode = FB_ALONE;
	pthread_t t;
	double	*lat, t0, t1;
	long	 n = 2000, rec = 4872, gap = 300, i;
	int	 fd;

	if (argc < 2 || argc > 6) {
		fprintf(stderr, "usage: flushbench DIR [alone|beside|after] "
		    "[N] [BYTES] [GAP]\n");
		return 2;
	}
	if (argc > 2 && strcmp(argv[2], "beside") == 0)
		mode = FB_BESIDE;
	else if (argc > 2 && strcmp(argv[2], "after") == 0)
		mode = FB_AFTER;
	else if (argc > 2 && strcmp(argv[2], "alone") != 0) {
		fprintf(stderr, "flushbench: MODE is alone, beside or after\n");
		return 2;
	}
	if (argc > 3)
		n = atol(argv[3]);
	if (argc > 4)
		rec = atol(argv[4]);
	if (argc > 5)
		gap = atol(argv[5]);
	if (n < 10 || n > 1000000 || rec < 1 || rec > 8192 || gap < 0) {
		fprintf(stderr, "flushbench: N is 10..1000000, BYTES 1..8192, "
		    "GAP 0 or more\n");
		return 2;
	}
	if (chdir(argv[1]) == -1)
		fb_die(argv[1]);
	memset(fb_buf, 'x', sizeof(fb_buf));
	if ((mkdir("tmp", 0750) == -1 && errno != EEXIST) ||
	    (mkdir("new", 0750) == -1 && errno != EEXIST) ||
	    (mkdir("sessions", 0750) == -1 && errno != EEXIST))
		fb_die("mkdir");
	/* the segment: written full (of x, as good as zeros) and synced */
	if ((fd = open("segment", O_RDWR | O_CREAT | O_TRUNC, 0600)) == -1)
		fb_die("segment");
	for (i = 0; i < n * rec / (long)sizeof(fb_buf) + 1; i++)
		if (write(fd, fb_buf, sizeof(fb_buf)) != sizeof(fb_buf))
			fb_die("segment");
	if (fsync(fd) == -1)
		fb_die("segment");
	if ((lat = calloc((size_t)n, sizeof(*lat))) == NULL)
		fb_die("calloc");
	if (mode == FB_BESIDE && pthread_create(&t, NULL, fb_committer,
	    NULL) != 0)
		fb_die("pthread_create");
	t0 = fb_now();
	for (i = 0; i < n; i++) {
		if (mode == FB_BESIDE) {
			pthread_mutex_lock(&fb_mu);
			fb_go = true;
			pthread_cond_signal(&fb_cv);
			pthread_mutex_unlock(&fb_mu);
		}
		if (pwrite(fd, fb_buf, (size_t)rec, (off_t)(i * rec)) != rec)
			fb_die("pwrite");
		t1 = fb_now();
		if (fdatasync(fd) == -1)
			fb_die("fdatasync");
		lat[i] = (fb_now() - t1) * 1000;
		if (mode == FB_AFTER)
			fb_make((unsigned)i);
		if (gap > 0)
			usleep((useconds_t)gap);
	}
	t1 = fb_now();
	if (mode == FB_BESIDE) {
		pthread_mutex_lock(&fb_mu);
		fb_stop = true;
		pthread_cond_signal(&fb_cv);
		pthread_mutex_unlock(&fb_mu);
		pthread_join(t, NULL);
	}
	qsort(lat, (size_t)n, sizeof(*lat), fb_cmp);
	printf("%s: %ld flushes of %ld bytes, gap %ld us: fdatasync p10 %.3f "
	    "p50 %.3f p90 %.3f ms; cycle %.3f ms\n", mode == FB_ALONE ? "alone" :
	    mode == FB_BESIDE ? "beside" : "after", n, rec, gap, lat[n / 10],
	    lat[n / 2], lat[n * 9 / 10], (t1 - t0) * 1000 / (double)n);
	free(lat);
	close(fd);
	return 0;
}
