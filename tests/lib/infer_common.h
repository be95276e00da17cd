/*
 * test_infer.h: what the two unit tests of the request formats share
 * (tests/test_infer.c: /predict, KServe v1, rows by name; tests/
 * test_infer_oip.c: the Open Inference Protocol): three small models, the
 * group setup that loads them, and parse and format helpers.
 */
#ifndef TEST_INFER_H
#define TEST_INFER_H

#include <stddef.h>

#include "inferd/infer.h"

struct evbuffer;
struct model;

/* A model of 3 features: one stump on feature 0 (< 0.5: -1, else +1). */
#define TINY_FMT \
	"{\"learner\":{\"gradient_booster\":{\"name\":\"gbtree\","	\
	"\"model\":{\"tree_info\":%s,\"trees\":[%s]}},"			\
	"\"learner_model_param\":{\"base_score\":\"5E-1\","		\
	"\"num_class\":\"%s\",\"num_feature\":\"3\"},"			\
	"\"objective\":{\"name\":\"%s\"}}}"
#define STUMP(lo, hi) \
	"{\"left_children\":[1,-1,-1],\"right_children\":[2,-1,-1],"	\
	"\"split_indices\":[0,0,0],\"split_conditions\":[0.5," lo "," hi "]," \
	"\"default_left\":[0,0,0]}"


#define NAMES	"\"feature_names\":[\"age\",\"bmi\",\"dose\"],"
#define TYPES	"\"feature_types\":[\"q\",\"c\",\"int\"],"

extern char		 tmpdir[];
extern struct model	*tiny;		/* binary:logistic, "tiny" */
extern struct model	*tri;		/* multi:softprob, 3 classes */
extern struct model	*named;		/* tiny with feature names, types */

/* A malformed request and what it must get back. */
struct bad_request {
	const char	*body;
	int		 status;
	const char	*want;
};


/* Group setup and teardown: the scratch directory and the models. */
int	 setup(void **);
int	 teardown(void **);
/* Write a model file in tmpdir and load it (NULL, with the error on
 * stderr, if it fails). */
struct model	*load(const char *name, const char *text);
/* Parse body in protocol proto; it must succeed. */
void	 parse_ok(enum infer_proto, const char *body, const struct model *,
	    struct infer_batch *);
/* Parse body in protocol proto; it must fail with status and a message
 * holding want. */
void	 parse_bad(enum infer_proto, const char *body, const struct model *,
	    int status, const char *want);
/* A buffer's text as a malloc'd string (the buffer is freed). */
char	*take(struct evbuffer *);
/* The texts of infer_format_predict, infer_format and a metadata
 * formatter. */
char	*fmt_predict(const struct model *, const double *y, size_t rows);
char	*fmt(enum infer_proto, const struct model *,
	    const struct infer_batch *, const double *y);
char	*fmt_meta(int (*)(struct evbuffer *, const struct model *),
	    const struct model *);

#endif /* TEST_INFER_H */
