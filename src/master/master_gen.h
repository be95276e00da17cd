/*
 * master_gen: a generation, nginx's cycle: one configuration, the model
 * loaded from it, and a number.  The first is built at start; each reload
 * that succeeds builds the next (master_reload.c).  Workers belong to the
 * generation they were forked from (master_workers.c) and keep its
 * configuration and model, copied by fork, for their whole life; when a
 * newer generation starts, theirs retires.
 */
#ifndef INFERD_MASTER_GEN_H
#define INFERD_MASTER_GEN_H

#include "inferd/config.h"

struct model;

struct master_gen {
	unsigned	 number;	/* 1 at start, +1 per reload */
	struct config	 cfg;
	struct model	*model;
};

/* A generation of number with a copy of cfg and model (taken over); NULL
 * when out of memory (logged; model is then freed). */
struct master_gen	*master_gen_new(unsigned number,
			    const struct config *cfg, struct model *model);
/* Free a generation and its model (NULL is fine). */
void			 master_gen_free(struct master_gen *);

#endif /* INFERD_MASTER_GEN_H */
