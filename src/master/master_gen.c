/*
 * master_gen: a generation's configuration, model and number (see
 * master_gen.h).
 */
#include "autoconf.h"

#include <stdlib.h>

#include "inferd/config.h"
#include "inferd/log.h"
#include "inferd/model.h"
#include "master/master_gen.h"

/* A new generation; see master_gen.h. */
struct master_gen *
master_gen_new(unsigned number, const struct config *cfg, struct model *model)
{
	struct master_gen	*g;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		log_error("generation %u", number);
		model_free(model);
		return NULL;
	}
	g->number = number;
	g->cfg = *cfg;
	g->model = model;
	return g;
}

/* Free a generation and its model. */
void
master_gen_free(struct master_gen *g)
{
	if (g == NULL)
		return;
	model_free(g->model);
	free(g);
}
