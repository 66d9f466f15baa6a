/* libFuzzer: request bytes into the admin API's sans-I/O HTTP session (llhttp parsing,
 * limits, routing, auth, status/definition JSON, error answers), fed in chunks whose
 * size comes from the first input byte, exactly as the libuv shell drives it: feed,
 * take the output, feed the rest. Checks that every output is an HTTP/1.1 response
 * and that a finished session consumes nothing more. No files are written (no config
 * path is given, so PUT /api/config fails before touching the disk). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/admin/admin_session.h"
#include "client/core/registry.h"
#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char CONFIG[] =
    "serverAddr = \"192.0.2.1\"\n"
    "[[proxies]]\nname = \"ssh\"\ntype = \"tcp\"\nlocalPort = 22\nremotePort = 6000\n"
    "[[proxies]]\nname = \"web\"\ntype = \"http\"\nlocalPort = 80\ncustomDomains = "
    "[\"a.example\"]\n"
    "[[proxies]]\nname = \"s\"\ntype = \"stcp\"\nsecretKey = \"k\"\nlocalPort = 1\n"
    "[[visitors]]\nname = \"v\"\ntype = \"stcp\"\nserverName = \"s\"\nsecretKey = \"k\"\nbindPort "
    "= 9000\n";

struct world {
    struct ufrpc_config *cfg;
    struct ufrpc_registry *reg;
};

static struct ufrpc_registry *w_registry(void *ctx) { return ((struct world *)ctx)->reg; }
static const struct ufrpc_config *w_config(void *ctx) { return ((struct world *)ctx)->cfg; }
static enum ufrpc_admin_reload_result w_reload(void *ctx, bool strict, char *msg, size_t cap)
{
    (void)ctx;
    if (cap > 0)
        msg[0] = '\0';
    return strict ? UFRPC_ADMIN_RELOAD_INVALID : UFRPC_ADMIN_RELOAD_OK;
}

/* Built once per process: the harness's fixture, not program state. */
static struct world *world(void)
{
    static struct world w;
    static int ready;
    if (!ready) {
        struct ufrpc_cfg_diag d;
        ufrpc_cfg_diag_init(&d);
        if (ufrpc_config_load_buffer(CONFIG, sizeof CONFIG - 1, "fuzz.toml", NULL, &w.cfg, &d) != 0)
            abort();
        ufrpc_cfg_diag_free(&d);
        if (ufrpc_registry_new(NULL, NULL, NULL, &w.reg) != 0)
            abort();
        for (size_t i = 0; i < w.cfg->nproxies; i++) {
            struct ufrpc_tunnel *t = NULL;
            ufrpc_registry_add(w.reg, UFRPC_TUNNEL_PROXY, w.cfg->proxies[i].name,
                               ufrpc_proxy_type_name(w.cfg->proxies[i].type), NULL, 0, &t);
            ufrpc_registry_set_state(w.reg, t, UFRPC_TUNNEL_WAIT_START, NULL, 1);
        }
        ufrpc_registry_on_new_proxy_resp(w.reg, "ssh", ":6000", NULL, 2);
        ufrpc_registry_on_new_proxy_resp(w.reg, "web", "http://a.example", "<bad> \"err\"\n", 2);
        ready = 1;
    }
    return &w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct world *w = world();
    size_t chunk = data[0] == 0 ? size : data[0];
    data++, size--;
    /* auth on for odd selectors, off for even ones */
    struct ufrpc_admin_session_cfg cfg = {
        .user = (chunk & 1) ? "admin" : "",
        .password = (chunk & 1) ? "pw" : "",
        .hooks = {.ctx = w, .registry = w_registry, .config = w_config, .reload = w_reload},
    };
    struct ufrpc_admin_session *s = ufrpc_admin_session_new(&cfg);
    if (s == NULL)
        return 0;
    size_t off = 0;
    int stalls = 0;
    while (off < size && stalls < 2) {
        size_t n = size - off < chunk ? size - off : chunk;
        size_t used = ufrpc_admin_session_feed(s, data + off, n);
        if (used > n)
            __builtin_trap();
        off += used;
        /* a config-file job (none here: no config path) goes back unrun */
        struct ufrpc_admin_file_job *job = ufrpc_admin_session_take_file_job(s);
        if (job != NULL)
            ufrpc_admin_session_file_done(s, job);
        uint8_t *buf;
        size_t len;
        uint32_t delay;
        bool got = ufrpc_admin_session_take_output(s, &buf, &len, &delay);
        if (got) {
            if (len < 12 || memcmp(buf, "HTTP/1.1 ", 9) != 0)
                __builtin_trap();
            free(buf);
        }
        (void)ufrpc_admin_session_take_stop(s);
        if (ufrpc_admin_session_done(s)) {
            if (ufrpc_admin_session_feed(s, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18) != 0)
                __builtin_trap();
            break;
        }
        stalls = used == 0 && !got ? stalls + 1 : 0;
    }
    if (stalls >= 2)
        __builtin_trap(); /* a live session must make progress */
    ufrpc_admin_session_eof(s);
    ufrpc_admin_session_free(s);
    return 0;
}
