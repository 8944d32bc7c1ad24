/* SPDX-License-Identifier: MIT */
/*
 * The CLI's one JSON writer (jansson). Every --json document of every
 * command is built and printed here: the shared "start" object, strings
 * made valid UTF-8, one document per run (the error document when a run
 * ends without its report), and the line-per-event stream of
 * --json-stream. No other file formats JSON by hand.
 */
#ifndef DMT_CLI_JSON_OUT_H
#define DMT_CLI_JSON_OUT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

/* Output layouts: one line, compact ("a":1,"b":2); one line with spaces
 * ("a": 1, "b": 2); indented over several lines. */
enum jout_style { JOUT_COMPACT, JOUT_SPACED, JOUT_INDENT };

/*
 * The run's JSON mode. jout_scan_argv (main, before the command parses
 * its options) turns it on when the command line holds --json or
 * --json-stream (or an abbreviation getopt would accept), so that even a
 * usage error found before --json is parsed ends in an error document.
 * The command confirms its own reading with jout_set once its options
 * are parsed. short_j: the command also takes -j for --json.
 */
void jout_scan_argv(int argc, char **argv, bool short_j);
void jout_set(bool on, bool stream);
bool jout_on(void);
bool jout_stream(void);

/* A JSON string for s: NULL gives null; bytes that are not valid UTF-8
 * are each replaced by U+FFFD; control characters are escaped on output.
 * New reference (NULL only when out of memory). */
json_t *jout_str(const char *s);
/* Setters that steal nothing and accept NULL objects (no-op):
 * str NULL -> null; num not finite -> null. */
void jout_set_str(json_t *o, const char *key, const char *s);
void jout_set_num(json_t *o, const char *key, double v);
void jout_set_int(json_t *o, const char *key, int64_t v);
void jout_set_u64(json_t *o, const char *key, uint64_t v);
void jout_set_bool(json_t *o, const char *key, bool v);
void jout_set_null(json_t *o, const char *key);
/* Set key to v and drop the caller's reference (v NULL: null). */
void jout_set_new(json_t *o, const char *key, json_t *v);
/* A value from its JSON text ("12", "1.5", "true", "[1,2]"); an integer
 * beyond int64 gives its double, other text that is not JSON (empty,
 * "nan") null. New reference. */
json_t *jout_raw(const char *text);

/* The iperf3-like "start" object: version, system_info, host and
 * timestamp {time, timesecs}, the time the run started (jout_scan_argv).
 * New reference. */
json_t *jout_start(void);
/* A new document object {"start": ...} to fill. */
json_t *jout_doc(void);

/*
 * Print doc as one document (a line, or indented lines for JOUT_INDENT)
 * on stdout and drop the reference. The run's first document only: later
 * ones are dropped, so a run never prints two. Returns 0, -1 when a
 * document was printed before or on an output error.
 */
int jout_emit(json_t *doc, enum jout_style style);
/* --json-stream: print one {"event": EV, "data": DATA} line (steals
 * data). The "end" event counts as the run's document. */
void jout_event(const char *ev, json_t *data);
/* Whether the run's document was printed. */
bool jout_done(void);
/* A new report begins (server -K: one document, or start..end events,
 * per client): the next document is printed again. */
void jout_next(void);

/* An error message with its exit status (the CLI's usage and run error
 * printers call this); kept for the error document. The first error of a
 * run is kept. */
void jout_note_error(const char *cmd, int status, const char *msg);
/*
 * End of the run (main): in JSON mode, when no document was printed,
 * print the error document {"start", "command", "error", "exit_status"}
 * with the first noted error (or a generic one naming the status).
 * Returns status.
 */
int jout_end(const char *cmd, int status);

#endif
