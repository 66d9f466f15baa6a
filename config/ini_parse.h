/* config/ini_parse.h — an INI reader with go-ini (gopkg.in/ini.v1 v1.67) rules, the
 * library frp uses for its legacy format. No line-length limit: the only bound is the
 * input size (the loader caps files at opts.max_file_size).
 *
 * Rules (as go-ini applies them with its default options, or with frp's when
 * opts.frp is set: IgnoreInlineComment + AllowBooleanKeys):
 * - a leading UTF-8 BOM (or a UTF-16 one, 2 bytes) is skipped; lines end at '\n',
 *   a '\r' before it is whitespace; whitespace is Unicode white space (Go's).
 * - blank lines and lines starting with '#' or ';' (after leading space) are skipped.
 * - "[name]": the name is everything between '[' and the LAST ']' of the line, not
 *   trimmed; text after the ']' is ignored; "[]" is an error, a missing ']' too.
 *   Names are case-sensitive; a repeated section reopens the first one.
 *   Keys before any section belong to the section "DEFAULT" (always section 0).
 * - "key = value" or "key: value" (the first '=' or ':'); the key is trimmed and may
 *   be quoted with ", """ or `. A key "-" becomes "#1", "#2"… (per section).
 * - values: trimmed; """…""" and `…` may span lines (up to the LAST closing quote
 *   of the line where it closes; newlines kept); a value in matching '…' or "…"
 *   loses the quotes when that quote does not occur inside; a trailing '\' joins
 *   the next non-empty line (trimmed); without opts.frp, '#' or ';' starts an
 *   inline comment.
 * - a line without '=' or ':' is an error, or with opts.frp a key whose value is
 *   "true" (AllowBooleanKeys).
 * - a repeated key keeps its first position and takes the last value and line.
 * NUL bytes are rejected (values are C strings).
 *
 * Ownership: the document owns every string; ufrpc_ini_doc_free releases it all.
 */
#ifndef UFRPC_CONFIG_INI_PARSE_H
#define UFRPC_CONFIG_INI_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ufrpc_ini_key {
    char *name;
    char *value;
    uint32_t line; /* 1-based line of the key (of its last occurrence) */
};

struct ufrpc_ini_section {
    char *name;
    uint32_t line;              /* line of the first "[name]" header; 0 for DEFAULT */
    struct ufrpc_ini_key *keys; /* in order of first occurrence */
    size_t nkeys, cap;
};

struct ufrpc_ini_doc {
    struct ufrpc_ini_section *secs; /* secs[0] is "DEFAULT"; then file order */
    size_t nsecs, cap;
    /* private: hash index over sections and keys */
    struct ufrpc_ini_slot *slots;
    size_t nslots, nused;
};

struct ufrpc_ini_opts {
    bool frp; /* frp's options: no inline comments, boolean keys allowed */
};

/* Parses text. Returns 0, UFRPC_ERR_CONFIG_SYNTAX (with *err_line and a message in
 * err[errcap]) or UFRPC_ERR_NOMEM. The doc is filled in every case (partially on
 * error) and must be freed with ufrpc_ini_doc_free. */
int ufrpc_ini_parse(const char *text, size_t len, const struct ufrpc_ini_opts *opts,
                    struct ufrpc_ini_doc *doc, uint32_t *err_line, char *err, size_t errcap);
void ufrpc_ini_doc_free(struct ufrpc_ini_doc *doc);

/* Lookup by exact name; NULL when absent. Pointers stay valid until the doc is freed. */
const struct ufrpc_ini_section *ufrpc_ini_section(const struct ufrpc_ini_doc *doc,
                                                  const char *name);
const struct ufrpc_ini_key *ufrpc_ini_key(const struct ufrpc_ini_section *s, const char *name);

#endif
