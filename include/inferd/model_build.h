/*
 * model_build: an XGBoost model document, already parsed into a jansson
 * tree, to a struct model.  Every format goes through here: XGBoost JSON
 * is parsed by jansson, and a UBJSON model decodes into the same jansson
 * tree, so the checks and their messages (which name the JSON path at
 * fault) are written once.
 */
#ifndef INFERD_MODEL_BUILD_H
#define INFERD_MODEL_BUILD_H

#include <jansson.h>

struct model;
struct model_err;

/* Fill m (zeroed) from the document root: objective, parameters and every
 * tree, all checked.  0, or -1 with e filled; m is then freed by the
 * caller with model_free. */
int	 model_build(struct model *m, json_t *root, struct model_err *e);

#endif /* INFERD_MODEL_BUILD_H */
