/*
 * smtp_bdat_exim.c -- BDAT (RFC 3030 CHUNKING) as Exim 4.96 takes it,
 * for the Exim persona (PERSONA_Q_EXIM_BDAT). Read in Exim's smtp_in.c
 * (smtp_setup_msg() BDAT_CMD, bdat_getc(), bdat_flush_data()) and sent
 * side by side to a real Debian 12 exim 4.96 with CHUNKING on
 * (tests/integration/test_bdat_exim.py). Unlike Postfix, Exim:
 * - reads a chunk only when it takes the command: BDAT after HELO or with
 *   no number gets its 503/501 and the chunk's bytes are then read as
 *   commands, as Exim reads them;
 * - flushes the chunk of a BDAT without recipients, after its 503;
 * - after a chunk that is not the LAST takes only BDAT, NOOP, RSET or
 *   QUIT; anything else gets "503 only BDAT permissible ..." and then
 *   everything but RSET and QUIT "503 only RSET accepted now", both
 *   counted as protocol errors (smtp_synprot()), the command not run and
 *   a BDAT's chunk not read;
 * - says "250 N byte chunk received" per chunk and at the LAST the
 *   two-line "250- N byte chunk, total M" / "250 OK id=..." with its own
 *   count (smtp_bdat.h).
 * Where exim 4.96 dies (RSET, or a BDAT without a number, between
 * chunks: SIGSEGV, the connection drops) the trap does what Exim means
 * to do: the transaction ends, RSET is answered.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "smtp_session.h"

/* a chunk not stored: read and dropped, no reply after it */
static void
exim_flush(struct smtp_session *s, uint64_t size, bool last)
{
	smtp_bdat_read(s, size, last, false, PM_COUNT, false, true);
}

/* the chunked message is given up: back to no transaction */
static void
exim_abandon(struct smtp_session *s)
{
	smtp_tx_free(s);
	if (s->state == SMTP_S_MAIL || s->state == SMTP_S_RCPT)
		smtp_enter_state(s, SMTP_S_IDLE);
	s->xbdat = SMTP_XBDAT_NONE;
}

/*
 * smtp_bdat_exim_cmd -- "BDAT n [LAST]" from a client of the Exim
 * persona, the first of a message or the next one (s->xbdat).
 */
void
smtp_bdat_exim_cmd(struct smtp_session *s, const struct smtp_cmd *c)
{
	struct smtp_tx *tx = s->tx;
	uint64_t size;
	bool	 last;

	smtp_finding(s, SMTP_F_BDAT);
	if (s->xbdat == SMTP_XBDAT_NONE && !s->esmtp) {
		/* CHUNKING was not offered: only EHLO offers it */
		smtp_finding(s, SMTP_F_BAD_SEQUENCE);
		smtp_error(s, PM_BDAT, NULL);
		return;
	}
	if (smtp_bdat_exim_parse(c->arg, c->arglen, &size, &last) == -1) {
		if (s->xbdat != SMTP_XBDAT_NONE)
			exim_abandon(s);
		smtp_error(s, PM_BDAT_SYNTAX, NULL);
		return;
	}
	s->had_data = true;		/* no PIPECONNECT after it */
	if (s->xbdat == SMTP_XBDAT_NONE && s->state != SMTP_S_RCPT) {
		smtp_finding(s, SMTP_F_BAD_SEQUENCE);
		smtp_no_rcpt(s, PM_BDAT_NEED_RCPT, "BDAT");
		if (s->state != SMTP_S_CLOSING)
			exim_flush(s, size, last);
		return;
	}
	if (s->xbdat != SMTP_XBDAT_NONE && size == 0 && !last) {
		s->xbdat = SMTP_XBDAT_RSET;
		smtp_error(s, PM_BDAT_NULL, NULL);
		return;
	}
	if (size > (uint64_t)s->srv->size_limit - tx->chunked) {
		log_info("%s smtp message rejected reason=size chunk=%llu "
		    "before=%llu", s->id, (unsigned long long)size,
		    (unsigned long long)tx->chunked);
		smtp_bdat_read(s, size, last, false, PM_BDAT_TOOBIG, true,
		    true);
		return;
	}
	if (tx->msg == NULL) {
		if (!smtp_tx_open(s)) {
			smtp_bdat_read(s, size, last, false,
			    smtp_tx_spool_reply(tx->write_errno), true, true);
			return;
		}
		tx->bdat = true;
		smtp_bdat_count_init(&tx->bcount);
		smtp_bdat_xcount_init(&tx->xcount);
	}
	smtp_bdat_read(s, size, last, true, PM_BDAT_OK, false, true);
}

/*
 * smtp_bdat_exim_end -- the chunk has been read: the reply to a chunk
 * not stored, the one to a chunk that is not the LAST, or the message's
 * end.
 */
void
smtp_bdat_exim_end(struct smtp_session *s)
{
	struct smtp_chunk *k = &s->chunk;
	char	 num[24];

	smtp_bdat_ended(s);
	if (!k->store) {
		if (k->reply == PM_COUNT)
			return;
		exim_abandon(s);
		smtp_reply(s, k->reply, NULL);
		return;
	}
	if (smtp_bdat_spool_failed(s))
		return;
	if (!k->last) {
		s->xbdat = SMTP_XBDAT_MORE;
		(void)snprintf(num, sizeof(num), "%llu",
		    (unsigned long long)k->size);
		smtp_reply(s, PM_BDAT_OK, num);
		return;
	}
	s->xbdat = SMTP_XBDAT_NONE;
	smtp_tx_done(s);
}

/*
 * smtp_bdat_exim_gate -- a command (parse result rc) while the client is
 * between chunks (s->xbdat): true if it was answered here and is not to
 * be run. QUIT gets its 221 and, as from exim 4.96, PM_BDAT_LOST, which
 * also follows the error that closes the session; the first wrong
 * command, even past the error limit, does not close it.
 */
bool
smtp_bdat_exim_gate(struct smtp_session *s, const struct smtp_cmd *c, int rc)
{
	bool	 bare = rc == SMTP_E_OK && c->arglen == 0;

	if (s->xbdat == SMTP_XBDAT_NONE)
		return false;
	if (rc == SMTP_E_OK && c->verb == SMTP_CMD_QUIT && bare) {
		smtp_tx_free(s);
		smtp_reply(s, PM_QUIT, NULL);
		smtp_reply(s, PM_BDAT_LOST, NULL);
		smtp_close(s, SMTP_C_QUIT);
		return true;
	}
	if (rc == SMTP_E_OK && c->verb == SMTP_CMD_RSET && bare)
		return false;
	if (s->xbdat == SMTP_XBDAT_MORE && rc == SMTP_E_OK &&
	    (c->verb == SMTP_CMD_BDAT || c->verb == SMTP_CMD_NOOP))
		return false;
	smtp_finding(s, SMTP_F_BAD_SEQUENCE);
	if (s->xbdat == SMTP_XBDAT_MORE) {
		/* [verified] past the limit too, then only RSET */
		s->xbdat = SMTP_XBDAT_RSET;
		s->errors++;
		(void)smtp_synprot_close(s, PM_BDAT_ONLY, NULL, false);
	} else
		smtp_error(s, PM_BDAT_RSET_ONLY, NULL);
	/* [verified] too many errors: exim 4.96 also says this */
	if (s->state == SMTP_S_CLOSING)
		smtp_reply(s, PM_BDAT_LOST, NULL);
	return true;
}
