/*
 * ubjson: a UBJSON (Universal Binary JSON, big-endian) decoder into a
 * jansson tree, for the models XGBoost writes with save_model("m.ubj").
 * Pure module: no I/O, no globals.
 *
 * Values map onto jansson as follows:
 *	Z -> null, T/F -> true/false, i U I l L -> integer,
 *	d (float32) D (float64) -> real (exact: a float32 widens to double),
 *	S H C -> string, H -> the number it spells, [ -> array, { -> object,
 *	N (no-op) -> skipped.
 * jansson has no non-finite reals, so a NaN float becomes null and +/-inf
 * become the strings "Infinity" / "-Infinity", the same representation
 * modelfmt_parse gives XGBoost's bare NaN / Infinity JSON tokens (see
 * modelfmt_number).  XGBoost writes NaN as the split condition of
 * categorical nodes.
 *
 * Every count and length is checked against the bytes left before anything
 * is allocated, so a forged count fails instead of allocating: the tree
 * built is never more than a constant factor larger than the input.
 */
#ifndef INFERD_UBJSON_H
#define INFERD_UBJSON_H

#include <stddef.h>

#include <jansson.h>

/* Containers nested deeper than this are refused (XGBoost models: < 10). */
#define UBJSON_MAX_DEPTH	64

/*
 * Decode the len bytes at buf, which must hold exactly one UBJSON value
 * (trailing no-ops allowed).  On failure return NULL and write one line into
 * err (errlen bytes): "NAME: byte OFFSET: what was wrong", e.g. "model.ubj:
 * byte 1234: array count 4294967295 exceeds the 812 bytes left".  Object
 * keys must be unique and every string valid UTF-8.
 */
json_t	*ubjson_decode(const void *buf, size_t len, const char *name,
	    char *err, size_t errlen);

#endif /* INFERD_UBJSON_H */
