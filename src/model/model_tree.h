/*
 * model_tree: one tree of a model, from its node arrays to checked nodes in
 * the model's flat array.  Format-independent: a loader fills struct
 * model_tree_src from whatever the file holds, and every check on the
 * tree's structure is made here, once for all formats.
 */
#ifndef INFERD_MODEL_TREE_H
#define INFERD_MODEL_TREE_H

#include <stddef.h>

struct json_t;
struct model;
struct model_err;
struct model_tree;

/* The node arrays of one tree as the file gives them, n entries each. */
struct model_tree_src {
	size_t		 n;
	long long	*left;		/* left child, -1 at a leaf */
	long long	*right;		/* right child, -1 at a leaf */
	long long	*feat;		/* split feature */
	float		*cond;		/* split condition, or the leaf value */
	unsigned char	*dleft;		/* 1: a missing value goes left */
	long long	*stype;		/* split type (0: numerical, 1:
					 * categorical); NULL if none */
	/* Categorical splits (model_cats.c): node i's categories are
	 * cats[cat_beg[i] .. cat_beg[i] + cat_len[i]]; cat_beg[i] is -1 for
	 * a node without.  NULL when the tree has none. */
	long long	*cat_beg;
	long long	*cat_len;
	long long	*cats;
	size_t		 ncats;
};

/*
 * Check tree t (its number in the file, for messages) and append the nodes
 * reachable from its root (node 0) to m->nodes, renumbered breadth-first so
 * that siblings are adjacent; set *tr to its root and depth.  m->nodes and
 * m->leaf must have room for src->n more nodes; category sets go to
 * m->cats, which grows.  A tree deeper than e->lim's max_depth is refused.
 * Each leaf value is multiplied by weight (a dart tree's weight_drop, 1
 * otherwise), in float.  0, or -1 with e filled.
 */
int	 model_tree_add(struct model_err *e, struct model *m,
	    const struct model_tree_src *src, size_t t, float weight,
	    struct model_tree *tr);

/* Read tree t's categorical split arrays (categories, categories_nodes,
 * categories_segments, categories_sizes) into src, whose n and stype are
 * set; check them against split_type.  0, or -1 with e filled. */
int	 model_cats_fetch(struct model_err *e, struct json_t *tree,
	    size_t t, struct model_tree_src *src);

#endif /* INFERD_MODEL_TREE_H */
