/*
 * smtp_bdat_session.c -- BDAT (RFC 3030 CHUNKING) inside a session: which
 * chunk is stored and which is read only to be discarded, and the replies,
 * as Postfix 3.7 gives them (sent side by side to a real postfix 3.7.11:
 * tests/integration/test_smtp_dialog.py, PF_BDAT); an Exim persona's
 * BDAT is smtp_bdat_exim.c's, on the same reading. Every chunk is read
 * whole, whatever the reply, so its bytes are never taken for commands.
 * Stored chunks are kept exactly as sent (no dot-unstuffing); after the
 * LAST one the message is committed as one ended by DATA (smtp_tx.c).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "smtp_session.h"

static void	 bdat_end(struct smtp_session *);

/*
 * smtp_bdat_read -- read the chunk of size bytes that follows the
 * command: stored into the transaction's message (store), or discarded
 * and then answered with reply (none: PM_COUNT), the transaction ending
 * with it if reset; exim: Exim's ending (smtp_bdat_exim_end()) instead
 * of Postfix's.
 */
void
smtp_bdat_read(struct smtp_session *s, uint64_t size, bool last, bool store,
    enum persona_msg reply, bool reset, bool exim)
{
	struct smtp_chunk *k = &s->chunk;

	k->left = k->size = size;
	k->last = last;
	k->store = store;
	k->reply = reply;
	k->reset = reset;
	k->exim = exim;
	k->resume = s->state;
	if (size == 0) {
		if (exim)
			smtp_bdat_exim_end(s);
		else
			bdat_end(s);
		return;
	}
	smtp_enter_state(s, SMTP_S_BDAT);
	smtp_session_set_timeout(s);
}

static void
bdat_begin(struct smtp_session *s, uint64_t size, bool last, bool store,
    enum persona_msg reply, bool reset)
{
	smtp_bdat_read(s, size, last, store, reply, reset, false);
}

/*
 * smtp_bdat_cmd -- "BDAT count [LAST]" from a client of a persona with
 * CHUNKING. A line that is not that syntax gets the persona's reply and
 * the hang-up (where the chunk ends cannot be known). Otherwise the chunk
 * is read; it is stored when it belongs to a transaction with recipients,
 * fits the size limit with the chunks before it and no earlier chunk of
 * the message failed; the other chunks are discarded and answered with
 * the error, and a failed chunk that is not the LAST makes the chunks
 * after it up to the LAST discarded as well.
 */
void
smtp_bdat_cmd(struct smtp_session *s, const struct smtp_cmd *c)
{
	const struct persona *p = s->srv->persona;
	struct smtp_tx *tx = s->tx;
	uint64_t size;
	bool	 last;

	if (persona_quirk(p, PERSONA_Q_EXIM_BDAT)) {
		smtp_bdat_exim_cmd(s, c);
		return;
	}
	smtp_finding(s, SMTP_F_BDAT);
	if (smtp_bdat_parse(c->arg, c->arglen, &size, &last) == -1) {
		smtp_tx_free(s);
		smtp_reply(s, PM_BDAT_SYNTAX, NULL);
		if (persona_closes(p, PM_BDAT_SYNTAX))
			smtp_close(s, SMTP_C_NONSMTP);
		else
			s->errors++;
		return;
	}
	if (size == 0 && !last) {
		/* before any other check, and again in a discarded run */
		if (tx != NULL)
			tx->bdat = true;
		bdat_begin(s, 0, false, false, PM_BDAT_NULL, false);
		return;
	}
	if (s->bdat_error) {
		bdat_begin(s, size, last, false, PM_BDAT_DISCARDED, last);
		return;
	}
	if (s->state != SMTP_S_MAIL && s->state != SMTP_S_RCPT) {
		smtp_finding(s, SMTP_F_BAD_SEQUENCE);
		bdat_begin(s, size, last, false, PM_DATA_NEED_MAIL, false);
		return;
	}
	tx->bdat = true;	/* RCPT and DATA are out of sequence now */
	if (s->state == SMTP_S_MAIL) {
		smtp_finding(s, SMTP_F_BAD_SEQUENCE);
		bdat_begin(s, size, last, false, PM_DATA_NEED_RCPT, last);
		return;
	}
	if (size > (uint64_t)s->srv->size_limit - tx->chunked) {
		log_info("%s smtp message rejected reason=size chunk=%llu "
		    "before=%llu", s->id, (unsigned long long)size,
		    (unsigned long long)tx->chunked);
		bdat_begin(s, size, last, false, PM_BDAT_TOOBIG, last);
		return;
	}
	if (tx->msg == NULL) {
		if (!smtp_tx_open(s)) {
			bdat_begin(s, size, last, false,
			    smtp_tx_spool_reply(tx->write_errno), true);
			return;
		}
		smtp_bdat_count_init(&tx->bcount);
	}
	bdat_begin(s, size, last, true, PM_BDAT_OK, false);
}

/*
 * smtp_bdat_ended -- the chunk has been read: note it in the transcript,
 * back to the state before it, and count it into a stored message.
 */
void
smtp_bdat_ended(struct smtp_session *s)
{
	struct smtp_chunk *k = &s->chunk;
	char	 note[48];
	int	 n;

	n = snprintf(note, sizeof(note), "<BDAT %llu bytes>",
	    (unsigned long long)k->size);
	smtp_transcript(s, 'C', note, (size_t)n);
	smtp_enter_state(s, k->resume);
	if (k->store) {
		s->tx->chunks++;
		s->tx->chunked += k->size;
		s->tx->lastchunk = k->size;
	}
}

/*
 * smtp_bdat_spool_failed -- true if the chunk just stored is not the LAST
 * and the message could not be written: it is given up, with the
 * persona's reply for the spool's error.
 */
bool
smtp_bdat_spool_failed(struct smtp_session *s)
{
	int	 e;

	if (s->chunk.last || s->tx->write_errno == 0)
		return false;
	e = s->tx->write_errno;
	errno = e;
	log_warn("%s smtp: cannot write message to the spool", s->id);
	smtp_tx_free(s);
	smtp_enter_state(s, SMTP_S_IDLE);
	s->xbdat = SMTP_XBDAT_NONE;
	smtp_reply(s, smtp_tx_spool_reply(e), NULL);
	return true;
}

/* the chunk has been read: answer it, or end the message */
static void
bdat_end(struct smtp_session *s)
{
	struct smtp_chunk *k = &s->chunk;
	char	 num[24];

	(void)snprintf(num, sizeof(num), "%llu", (unsigned long long)k->size);
	smtp_bdat_ended(s);
	if (!k->store) {
		if (k->reset) {
			smtp_tx_free(s);
			if (s->state == SMTP_S_MAIL || s->state == SMTP_S_RCPT)
				smtp_enter_state(s, SMTP_S_IDLE);
		}
		s->bdat_error = !k->last;
		if (k->reply == PM_DATA_NOSPACE || k->reply == PM_DATA_TEMPFAIL)
			smtp_reply(s, k->reply, NULL);
		else
			smtp_error(s, k->reply, k->reply == PM_BDAT_DISCARDED ?
			    num : NULL);
		return;
	}
	if (smtp_bdat_spool_failed(s)) {
		s->bdat_error = true;
		return;
	}
	if (!k->last) {
		smtp_reply(s, PM_BDAT_OK, num);
		return;
	}
	smtp_tx_done(s);
}

/*
 * smtp_bdat_feed -- up to n bytes of the chunk being read; returns how
 * many were used (the rest is the next command).
 */
size_t
smtp_bdat_feed(struct smtp_session *s, const char *p, size_t n)
{
	struct smtp_chunk *k = &s->chunk;
	size_t	 take = n < k->left ? n : (size_t)k->left;

	if (k->store) {
		smtp_bdat_count_feed(&s->tx->bcount, p, take);
		if (k->exim)
			smtp_bdat_xcount_feed(&s->tx->xcount, p, take);
		smtp_tx_write(s, p, take);
	}
	k->left -= take;
	if (k->left == 0) {
		if (k->exim)
			smtp_bdat_exim_end(s);
		else
			bdat_end(s);
	}
	return take;
}
