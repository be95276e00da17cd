/*
 * modelfmt: tell an XGBoost model's format from its bytes and parse JSON,
 * UBJSON or the binary format (model_xgbbin.c) into one jansson tree.
 *
 * The sniffing follows XGBoost's own loader (src/learner.cc, LoadModel of
 * 1.7 to 3.x): '{' then '"' after optional spaces is JSON, '{' then a
 * letter is UBJSON ('L', the int64 length marker XGBoost writes before each
 * key); "binf" starts the binary format 1.x writes for any file name but
 * .json and .ubj (0.x wrote it without "binf": xgbbin_sniff knows it by the
 * objective and booster names after its first 136 bytes), "bs64" the
 * base64 form XGBoost < 1.0 wrote (1.x refuses it too), and
 * "CONFIG-offset:" the raw snapshot (save_raw, pickle) of 1.x.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model/modelfmt.h"
#include "inferd/ubjson.h"

#define MODELFMT_RESAVE \
	"load it with XGBoost and re-save it with " \
	"save_model(\"model.json\") or save_model(\"model.ubj\")"

static const char *const modelfmt_names[] = {
	[MODELFMT_JSON] = "JSON",
	[MODELFMT_UBJSON] = "UBJSON",
	[MODELFMT_BINARY] = "XGBoost's binary format",
	[MODELFMT_BASE64] = "XGBoost's old base64 format",
	[MODELFMT_SNAPSHOT] = "an XGBoost 1.x raw snapshot (save_raw or pickle)",
	[MODELFMT_UNKNOWN] = "not an XGBoost model",
};

static void	 modelfmt_fail(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Write a formatted message into err (errlen bytes). */
static void
modelfmt_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* JSON's insignificant whitespace. */
static int
modelfmt_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Whether buf (len bytes) starts with the string s. */
static int
modelfmt_prefix(const unsigned char *buf, size_t len, const char *s)
{
	size_t	 n = strlen(s);

	return len >= n && memcmp(buf, s, n) == 0;
}

/* Tell the format from the first bytes. */
enum modelfmt
modelfmt_sniff(const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	size_t			 i = 0;

	if (xgbbin_sniff(p, len))
		return MODELFMT_BINARY;
	if (modelfmt_prefix(p, len, "bs64"))
		return MODELFMT_BASE64;
	if (modelfmt_prefix(p, len, "CONFIG-offset:"))
		return MODELFMT_SNAPSHOT;
	/* a UBJSON object's first key length marker, or its '$' / '#' */
	if (len >= 2 && p[0] == '{' && strchr("iUIlLN$#", p[1]) != NULL &&
	    p[1] != '\0')
		return MODELFMT_UBJSON;
	while (i < len && modelfmt_space(p[i]))
		i++;
	if (i < len && p[i] == '{')
		return MODELFMT_JSON;
	return MODELFMT_UNKNOWN;
}

/* A name for messages. */
const char *
modelfmt_name(enum modelfmt f)
{
	if ((unsigned)f > MODELFMT_UNKNOWN)
		f = MODELFMT_UNKNOWN;
	return modelfmt_names[f];
}

/*
 * One step of the rewrite scan at text[i], in or out of a string (*instr).
 * Return the number of bytes of text consumed; *repl is the replacement for
 * them, or NULL to copy them.
 */
static size_t
modelfmt_step(const char *text, size_t len, size_t i, int *instr,
    const char **repl)
{
	static const struct {
		const char	*tok;
		const char	*repl;
	} toks[] = {
		{ "NaN", "null" },
		{ "Infinity", "\"Infinity\"" },
		{ "+Infinity", "\"Infinity\"" },
		{ "-Infinity", "\"-Infinity\"" },
	};
	size_t	 k, n;

	*repl = NULL;
	if (*instr) {
		if (text[i] == '\\')
			return i + 1 < len ? 2 : 1;
		if (text[i] == '"')
			*instr = 0;
		return 1;
	}
	if (text[i] == '"') {
		*instr = 1;
		return 1;
	}
	for (k = 0; k < sizeof(toks) / sizeof(toks[0]); k++) {
		n = strlen(toks[k].tok);
		if (n <= len - i && memcmp(text + i, toks[k].tok, n) == 0) {
			*repl = toks[k].repl;
			return n;
		}
	}
	return 1;
}

/* Copy text with XGBoost's non-finite tokens made valid JSON. */
char *
modelfmt_json_rewrite(const char *text, size_t len, size_t *outlen)
{
	const char	*repl;
	size_t		 i, n, size = 0, o = 0;
	int		 instr = 0;
	char		*out;

	for (i = 0; i < len; i += n) {
		n = modelfmt_step(text, len, i, &instr, &repl);
		size += repl != NULL ? strlen(repl) : n;
	}
	if ((out = malloc(size + 1)) == NULL)
		return NULL;
	instr = 0;
	for (i = 0; i < len; i += n) {
		n = modelfmt_step(text, len, i, &instr, &repl);
		if (repl != NULL) {
			memcpy(out + o, repl, strlen(repl));
			o += strlen(repl);
		} else {
			memcpy(out + o, text + i, n);
			o += n;
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* Map offset pos of the rewritten copy back to an offset in text. */
size_t
modelfmt_json_origin(const char *text, size_t len, size_t pos)
{
	const char	*repl;
	size_t		 i, n, o = 0, w;
	int		 instr = 0;

	for (i = 0; i < len; i += n) {
		n = modelfmt_step(text, len, i, &instr, &repl);
		w = repl != NULL ? strlen(repl) : n;
		if (pos < o + w)
			return repl != NULL ? i : i + (pos - o);
		o += w;
	}
	return len;
}

/* Parse JSON text, errors placed in the original text. */
static json_t *
modelfmt_parse_json(const char *text, size_t len, const char *name,
    char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*root;
	char		*copy;
	size_t		 n, at, i, line = 1, col = 1;

	if ((copy = modelfmt_json_rewrite(text, len, &n)) == NULL) {
		modelfmt_fail(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	root = json_loadb(copy, n, JSON_REJECT_DUPLICATES, &jerr);
	free(copy);
	if (root != NULL)
		return root;
	/* jansson's position is past the byte at fault: name that byte */
	at = modelfmt_json_origin(text, len, (size_t)jerr.position);
	if (json_error_code(&jerr) == json_error_premature_end_of_input)
		at = len;
	else if (at > 0)
		at--;
	for (i = 0; i < at && i < len; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else
			col++;
	}
	modelfmt_fail(err, errlen, "%s: byte %zu (line %zu, column %zu): %s: "
	    "%s", name, at, line, col,
	    json_error_code(&jerr) == json_error_premature_end_of_input ?
	    "truncated JSON" : "not valid JSON", jerr.text);
	return NULL;
}

/* Parse a JSON, UBJSON or binary model; refuse anything else, saying what
 * to do. */
json_t *
modelfmt_parse(const void *buf, size_t len, const char *name, char *err,
    size_t errlen)
{
	const unsigned char	*p = buf;
	enum modelfmt		 f;
	char			 hex[3 * 8 + 1] = "";
	size_t			 i;

	if (errlen > 0)
		err[0] = '\0';
	switch ((f = modelfmt_sniff(buf, len))) {
	case MODELFMT_JSON:
		return modelfmt_parse_json(buf, len, name, err, errlen);
	case MODELFMT_UBJSON:
		return ubjson_decode(buf, len, name, err, errlen);
	case MODELFMT_BINARY:
		return xgbbin_parse(buf, len, name, err, errlen);
	case MODELFMT_UNKNOWN:
		if (len == 0) {
			modelfmt_fail(err, errlen, "%s: empty file, not an "
			    "XGBoost model", name);
			return NULL;
		}
		for (i = 0; i < len && i < 8; i++)
			snprintf(hex + 3 * i, sizeof(hex) - 3 * i, " %02x",
			    p[i]);
		modelfmt_fail(err, errlen, "%s: not an XGBoost JSON, UBJSON or "
		    "binary model (first bytes%s); if XGBoost can load it, "
		    MODELFMT_RESAVE, name, hex);
		return NULL;
	default:
		modelfmt_fail(err, errlen, "%s: %s, which inferd does not "
		    "read: " MODELFMT_RESAVE, name, modelfmt_name(f));
		return NULL;
	}
}

/* A float field: number, null (NaN), "Infinity" or "-Infinity". */
int
modelfmt_number(const json_t *v, double *out)
{
	const char	*s;

	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 0;
	}
	if (json_is_null(v)) {
		*out = NAN;
		return 0;
	}
	if ((s = json_string_value(v)) != NULL) {
		if (strcmp(s, "Infinity") == 0) {
			*out = HUGE_VAL;
			return 0;
		}
		if (strcmp(s, "-Infinity") == 0) {
			*out = -HUGE_VAL;
			return 0;
		}
	}
	return -1;
}
