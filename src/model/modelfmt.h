/*
 * modelfmt: which kind of file an XGBoost model is, told from its bytes,
 * and its parse into one jansson tree whatever the format, for the model
 * builder to check.  Pure module: no I/O, no globals.
 *
 * Non-finite floats: jansson has no NaN or infinite reals, and XGBoost
 * writes them (a bare NaN token in JSON, a NaN float32 in UBJSON: the split
 * condition of every categorical node).  In the tree both formats give,
 * NaN is null and +/-infinity the strings "Infinity" / "-Infinity";
 * modelfmt_number reads any of them back as a double.
 */
#ifndef INFERD_MODELFMT_H
#define INFERD_MODELFMT_H

#include <stddef.h>

#include <jansson.h>

enum modelfmt {
	MODELFMT_JSON,		/* save_model("m.json") */
	MODELFMT_UBJSON,	/* save_model("m.ubj"), 2.1+'s default */
	MODELFMT_BINARY,	/* binary: "binf" header, or 0.x's none */
	MODELFMT_BASE64,	/* "bs64": XGBoost < 1.0 base64 */
	MODELFMT_SNAPSHOT,	/* "CONFIG-offset:": save_raw/pickle, 1.x */
	MODELFMT_UNKNOWN
};

/* Tell the format from the first bytes, as XGBoost's loader does. */
enum modelfmt	 modelfmt_sniff(const void *buf, size_t len);
/* A name for messages: "JSON", "UBJSON", "XGBoost's legacy binary", ... */
const char	*modelfmt_name(enum modelfmt);

/*
 * Parse an XGBoost JSON or UBJSON model into a tree (object keys unique:
 * XGBoost keeps the first of two equal keys, jansson the last, so a model
 * with both is refused).  On failure return NULL and write one line into
 * err naming NAME and the byte offset (and line and column for JSON);
 * other formats are refused with a message that says how to re-save the
 * model.
 */
json_t		*modelfmt_parse(const void *buf, size_t len, const char *name,
		    char *err, size_t errlen);

/*
 * Copy JSON text with XGBoost's bare NaN, Infinity, +Infinity and
 * -Infinity tokens outside strings made valid JSON: null, "Infinity",
 * "Infinity", "-Infinity".  Return a malloc'd NUL-terminated copy with its
 * length in *outlen, or NULL if out of memory.  The copy is longer by one
 * or two bytes per token; modelfmt_json_origin maps positions back.
 */
char		*modelfmt_json_rewrite(const char *text, size_t len,
		    size_t *outlen);
/* The offset in text of offset pos of its modelfmt_json_rewrite copy. */
size_t		 modelfmt_json_origin(const char *text, size_t len, size_t pos);

/*
 * A float field of the tree: a real or integer, null for NaN, or the strings
 * "Infinity" / "-Infinity".  Return 0 with *out set, -1 for anything else.
 */
int		 modelfmt_number(const json_t *, double *out);

/*
 * model_xgbbin.c: XGBoost's binary format (1.x's save_model for any name
 * but .json and .ubj; 0.x's without the "binf" header).  xgbbin_sniff
 * tells it from its bytes; xgbbin_parse reads it into the document its
 * JSON model parses to, or returns NULL with a message naming the byte.
 */
int		 xgbbin_sniff(const void *buf, size_t len);
json_t		*xgbbin_parse(const void *buf, size_t len, const char *name,
		    char *err, size_t errlen);

#endif /* INFERD_MODELFMT_H */
