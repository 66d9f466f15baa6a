/* proto/v2_off.c — replaces proto/v2hello.c and proto/v2chan.c (and so v2crypto.c,
 * v2msg.c, aead_stream.c and xchacha20poly1305.c, which only they use) in a build
 * with UFRPC_WITH_WIRE_V2=OFF (CMakeLists.txt): no v2 handshake or channel can be
 * made; the constructors fail with UFRPC_ERR_UNSUPPORTED. config/unsupported.c
 * refuses transport.wireProtocol = "v2" first. Contracts: proto/v2hello.h,
 * proto/v2chan.h (the accessors are never reached without an object). */
#include <stddef.h>

#include "proto/error.h"
#include "proto/v2chan.h"
#include "proto/v2hello.h"

int ufrpc_v2hs_new(const struct ufrpc_v2hs_opts *opts, struct ufrpc_v2hs **out)
{
    *out = NULL;
    return UFRPC_ERR_UNSUPPORTED;
}

void ufrpc_v2hs_free(struct ufrpc_v2hs *hs)
{
}

void ufrpc_v2hs_output(const struct ufrpc_v2hs *hs, const uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
}

int ufrpc_v2hs_feed(struct ufrpc_v2hs *hs, const uint8_t *in, size_t len, size_t *consumed)
{
    *consumed = 0;
    return UFRPC_ERR_UNSUPPORTED;
}

int ufrpc_v2hs_on_eof(struct ufrpc_v2hs *hs, int err)
{
    return UFRPC_ERR_UNSUPPORTED;
}

enum ufrpc_v2hs_state ufrpc_v2hs_state(const struct ufrpc_v2hs *hs)
{
    return UFRPC_V2HS_FAILED;
}

const char *ufrpc_v2hs_error(const struct ufrpc_v2hs *hs)
{
    return "wire protocol v2 is not supported by this build (UFRPC_WITH_WIRE_V2=OFF)";
}

const struct ufrpc_msg *ufrpc_v2hs_login_resp(const struct ufrpc_v2hs *hs)
{
    return NULL;
}

int ufrpc_v2hs_login_resp_frame(const struct ufrpc_v2hs *hs, struct ufrpc_frame *out)
{
    return UFRPC_ERR_STATE;
}

int ufrpc_v2hs_keys(const struct ufrpc_v2hs *hs, ufrpc_aead_alg_t *alg,
                    uint8_t th[UFRPC_V2_TH_LEN], uint8_t k_c2s[UFRPC_AEAD_KEY_LEN],
                    uint8_t k_s2c[UFRPC_AEAD_KEY_LEN])
{
    return UFRPC_ERR_STATE;
}

void ufrpc_v2hs_client_hello(const struct ufrpc_v2hs *hs, const uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
}

int ufrpc_v2chan_new(const struct ufrpc_v2chan_opts *o, struct ufrpc_v2chan **out)
{
    *out = NULL;
    return UFRPC_ERR_UNSUPPORTED;
}

void ufrpc_v2chan_free(struct ufrpc_v2chan *ch)
{
}

int ufrpc_v2chan_encode(struct ufrpc_v2chan *ch, const struct ufrpc_msg *m, uint8_t **out,
                        size_t *len)
{
    return UFRPC_ERR_UNSUPPORTED;
}

int ufrpc_v2chan_seal(struct ufrpc_v2chan *ch, const uint8_t *in, size_t in_len, uint8_t **out,
                      size_t *len)
{
    return UFRPC_ERR_UNSUPPORTED;
}

int ufrpc_v2chan_feed(struct ufrpc_v2chan *ch, const uint8_t *in, size_t len, size_t *consumed,
                      struct ufrpc_msg *out)
{
    *consumed = 0;
    return UFRPC_ERR_UNSUPPORTED;
}

int ufrpc_v2chan_feed_frame(struct ufrpc_v2chan *ch, const uint8_t *in, size_t len,
                            size_t *consumed, struct ufrpc_frame *out)
{
    *consumed = 0;
    return UFRPC_ERR_UNSUPPORTED;
}

int ufrpc_v2chan_finish(const struct ufrpc_v2chan *ch)
{
    return UFRPC_ERR_UNSUPPORTED;
}
