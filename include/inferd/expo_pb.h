/*
 * expo_pb: the Prometheus protobuf exposition, a stream of
 * io.prometheus.client.MetricFamily messages each preceded by its length
 * as a varint (encoding=delimited), encoded with protobuf-c from
 * src/metrics.proto.  The only format that carries native histograms:
 * prediction_latency_seconds goes out with its classic buckets and its
 * native ones (schema SHM_NATIVE_SCHEMA) in one message.  Pure module: it
 * only appends to an evbuffer.
 */
#ifndef INFERD_EXPO_PB_H
#define INFERD_EXPO_PB_H

struct evbuffer;
struct expo_metrics;

/* Append every family of m, as expo_write() writes them; 0 or -1. */
int	 expo_pb_write(struct evbuffer *, const struct expo_metrics *m);

#endif /* INFERD_EXPO_PB_H */
