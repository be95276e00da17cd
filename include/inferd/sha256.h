/*
 * sha256: the SHA-256 message digest (FIPS 180-4), incremental.  Pure
 * module: no I/O, no allocation.
 */
#ifndef INFERD_SHA256_H
#define INFERD_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN	32
#define SHA256_HEX_LEN		(2 * SHA256_DIGEST_LEN)

struct sha256_ctx {
	uint32_t	 h[8];
	uint64_t	 nbytes;	/* message length so far */
	uint8_t		 buf[64];	/* partial block */
	size_t		 buflen;
};

/* Start a new digest. */
void	 sha256_init(struct sha256_ctx *);
/* Feed len bytes of data. */
void	 sha256_update(struct sha256_ctx *, const void *data, size_t len);
/* Finish and write the 32-byte digest; the context must be re-initialised
 * before reuse. */
void	 sha256_final(struct sha256_ctx *, uint8_t digest[SHA256_DIGEST_LEN]);
/* Digest len bytes of data into hex (65 bytes: 64 lowercase hex digits and
 * a NUL). */
void	 sha256_hex(const void *data, size_t len,
	    char hex[SHA256_HEX_LEN + 1]);

#endif /* INFERD_SHA256_H */
