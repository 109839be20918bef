/*
 * an_content.h -- the content analyzer (issue 4): what the message says.
 * GMime (an_mime()) parses it; the result, under "content" in
 * analysis.json, is
 *
 *	{"raw_only": str|null, "subject": str|null, "subject_raw": str|null,
 *	 "from": str|null, "to": str|null, "reply_to": str|null,
 *	 "charset_issues": bool,
 *	 "text_bytes": int, "truncated": bool,
 *	 "urls": [str], "url_domains": [str], "emails": [str],
 *	 "attachments": [{"name": str|null, "declared_type": str,
 *	   "detected_type": str, "size": int, "sha256": hex,
 *	   "saved": path|null}]}
 *
 * raw_only: why GMime did not read the message (its first line is no
 * header field, or an_mime_refused()); then the headers are null and its
 * first AN_CT_TEXT_MAX bytes, as they are, are scanned for URLs and
 * addresses. Otherwise it is null and:
 * Headers are decoded (RFC 2047, charsets to UTF-8); subject_raw is the
 * header as sent, unfolded. Each is cut to AN_CT_HEADER_MAX bytes (at a
 * character), of at most AN_CT_HEADER_IN_MAX decoded. Text parts (text/ types, not attachments, no file
 * name) are converted to UTF-8 and scanned for URLs and addresses
 * (an_urls.h); at most AN_CT_TEXT_MAX bytes of text are analyzed
 * (text_bytes), never stored. charset_issues: an undeclared 8-bit header
 * or body, an unknown charset, or bytes invalid in their charset, in a
 * part or in an RFC 2047 encoded word of Subject, From, To or Reply-To
 * (GMime writes '?' for those, or reads them in a fallback charset).
 * truncated: a cap was hit (depth, parts, text, URLs, addresses,
 * attachments). Attachments are hashed (SHA-256 of the decoded part) and,
 * when conf->attachment_dir is not "", stored as attachment_dir/<sha256>,
 * mode 0440, created atomically (temporary file + rename), never opened
 * or run; an existing file of that name counts as saved.
 *
 * detected_type comes from a small signature table written for this
 * project (an_content_magic()): "pdf", "ooxml" (a ZIP holding
 * [Content_Types].xml), "zip", "ole2" (MS Office 97-2003 and encrypted
 * OOXML), "rar", "7z", "gzip", "pe" (MZ), "elf", "png", "jpeg", "gif",
 * "html", "script" (#! or script markers in text), "text", "empty",
 * "unknown".
 */
#ifndef RT_AN_CONTENT_H
#define RT_AN_CONTENT_H

#include <stddef.h>

#include "an.h"

#define AN_CT_TEXT_MAX		(256 * 1024)	/* UTF-8 text analyzed */
#define AN_CT_HEADER_MAX	2048		/* bytes kept of a header */
#define AN_CT_HEADER_IN_MAX	(64 * 1024)	/* bytes of it decoded */
#define AN_CT_DEPTH_MAX		16	/* MIME nesting followed */
#define AN_CT_PARTS_MAX		256	/* MIME parts visited */
#define AN_CT_URLS_MAX		200
#define AN_CT_EMAILS_MAX	200
#define AN_CT_ATT_MAX		64	/* attachments listed */

extern const struct an_analyzer an_content;

/* the detected type of p[0..n) (a static string, see above) */
const char	*an_content_magic(const unsigned char *p, size_t n);

#endif
