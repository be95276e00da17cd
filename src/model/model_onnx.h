/*
 * model_onnx: ONNX-ML tree ensembles (model_onnx.c).  What format
 * detection needs: whether a file's bytes are an ONNX model.
 */
#ifndef INFERD_MODEL_ONNX_H
#define INFERD_MODEL_ONNX_H

#include <stddef.h>

/* 1 when buf starts as an ONNX ModelProto does (ir_version, then another
 * ModelProto field), else 0. */
int	 model_onnx_sniff(const void *buf, size_t len);

#endif /* INFERD_MODEL_ONNX_H */
