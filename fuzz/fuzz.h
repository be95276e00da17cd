/*
 * fuzz: the entry points every harness in fuzz/ defines, for libFuzzer
 * (-fsanitize=fuzzer) and for the plain replay driver (fuzz/replay.c) that
 * make check runs over the committed corpus and regression inputs.
 */
#ifndef INFERD_FUZZ_H
#define INFERD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "inferd/infer.h"

struct infer_batch;
struct model;

/* Set up what every input shares (a model, ...); 0, or the run stops. */
int	 LLVMFuzzerInitialize(int *argc, char ***argv);
/* Feed one input; returns 0.  A bug aborts (sanitizer report or abort). */
int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The bundled model (models/breast_cancer.json, or $INFERD_FUZZ_MODEL),
 * loaded once; exits with a message if it cannot be. */
struct model	*fuzz_bundled_model(void);
/* Check a batch infer_parse accepted for proto (rows from 1 to max_rows,
 * the model's columns), predict it and check that infer_format's answer is
 * JSON; aborts on a failure.  Frees batch->x. */
void		 fuzz_check_batch(const struct model *, enum infer_proto,
		    struct infer_batch *, size_t max_rows);
/* Parse body as proto with fuzz_check_batch's checks, and check that a
 * refusal is a 4xx with a message. */
void		 fuzz_infer(const struct model *, enum infer_proto,
		    const uint8_t *body, size_t len, size_t max_rows);
/* Rows an accepted model predicts in fuzz_predict_rows: a block of
 * MODEL_LANES and one row more. */
#define FUZZ_PREDICT_ROWS	17
/* Predict FUZZ_PREDICT_ROWS rows (NaN, zeros, a mix) with model m as one
 * batch and one by one; aborts unless both give the same outputs. */
void		 fuzz_predict_rows(const struct model *);
/* Abort unless err, a loader's refusal, starts by naming file ("file: "). */
void		 fuzz_refusal_names(const char *err, const char *file);
/* Abort with a message: an oracle of a harness failed. */
void		 fuzz_fail(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2), noreturn));

#endif /* INFERD_FUZZ_H */
