/* Quick-run subcommands: argv -> frpc TOML text -> the normal load/run path. */
#include "client/cli/cli_quick.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli/cli.h"
#include "client/cli/cli_flags.h"
#include "client/cli/cli_util.h"
#include "proto/error.h"
#include "proto/text.h"

enum kind { K_STR, K_INT, K_BOOL, K_LIST, K_MAP };

/* Which subcommands a flag belongs to. */
enum {
    S_COMMON = 1u << 0, /* every quick-run command (frpc's persistent flags) */
    S_PROXY = 1u << 1,  /* every proxy command */
    S_REMOTE = 1u << 2, /* tcp udp */
    S_DOMAIN = 1u << 3, /* http https tcpmux */
    S_HTTP = 1u << 4,   /* http */
    S_AUTH = 1u << 5,   /* http tcpmux */
    S_MUX = 1u << 6,    /* tcpmux */
    S_SECRET = 1u << 7, /* stcp sudp xtcp */
    S_VISITOR = 1u << 8,
};

enum section { SEC_TOP, SEC_ENTRY };

struct flag {
    const char *name; /* normalised long name ('-' separators) */
    char shorthand;   /* 0: none */
    enum kind kind;
    unsigned scope;
    enum section sec;
    const char *key; /* TOML key (dotted) */
};

static const struct flag FLAGS[] = {
    {"server-addr", 's', K_STR, S_COMMON, SEC_TOP, "serverAddr"},
    {"server-port", 'P', K_INT, S_COMMON, SEC_TOP, "serverPort"},
    {"protocol", 'p', K_STR, S_COMMON, SEC_TOP, "transport.protocol"},
    {"token", 't', K_STR, S_COMMON, SEC_TOP, "auth.token"},
    {"user", 'u', K_STR, S_COMMON, SEC_TOP, "user"},
    {"client-id", 0, K_STR, S_COMMON, SEC_TOP, "clientID"},
    {"tls-enable", 0, K_BOOL, S_COMMON, SEC_TOP, "transport.tls.enable"},
    {"tls-server-name", 0, K_STR, S_COMMON, SEC_TOP, "transport.tls.serverName"},
    {"dns-server", 0, K_STR, S_COMMON, SEC_TOP, "dnsServer"},
    {"log-level", 0, K_STR, S_COMMON, SEC_TOP, "log.level"},
    {"log-file", 0, K_STR, S_COMMON, SEC_TOP, "log.to"},
    {"log-max-days", 0, K_INT, S_COMMON, SEC_TOP, "log.maxDays"},
    {"disable-log-color", 0, K_BOOL, S_COMMON, SEC_TOP, "log.disablePrintColor"},
    {"proxy-name", 'n', K_STR, S_PROXY, SEC_ENTRY, "name"},
    {"local-ip", 'i', K_STR, S_PROXY, SEC_ENTRY, "localIP"},
    {"local-port", 'l', K_INT, S_PROXY, SEC_ENTRY, "localPort"},
    {"ue", 0, K_BOOL, S_PROXY | S_VISITOR, SEC_ENTRY, "transport.useEncryption"},
    {"uc", 0, K_BOOL, S_PROXY | S_VISITOR, SEC_ENTRY, "transport.useCompression"},
    {"bandwidth-limit", 0, K_STR, S_PROXY, SEC_ENTRY, "transport.bandwidthLimit"},
    {"bandwidth-limit-mode", 0, K_STR, S_PROXY, SEC_ENTRY, "transport.bandwidthLimitMode"},
    {"metadatas", 0, K_MAP, S_PROXY, SEC_ENTRY, "metadatas"},
    {"annotations", 0, K_MAP, S_PROXY, SEC_ENTRY, "annotations"},
    {"remote-port", 'r', K_INT, S_REMOTE, SEC_ENTRY, "remotePort"},
    {"custom-domain", 'd', K_LIST, S_DOMAIN, SEC_ENTRY, "customDomains"},
    {"sd", 0, K_STR, S_DOMAIN, SEC_ENTRY, "subdomain"},
    {"locations", 0, K_LIST, S_HTTP, SEC_ENTRY, "locations"},
    {"http-user", 0, K_STR, S_AUTH, SEC_ENTRY, "httpUser"},
    {"http-pwd", 0, K_STR, S_AUTH, SEC_ENTRY, "httpPassword"},
    {"host-header-rewrite", 0, K_STR, S_HTTP, SEC_ENTRY, "hostHeaderRewrite"},
    {"mux", 0, K_STR, S_MUX, SEC_ENTRY, "multiplexer"},
    {"sk", 0, K_STR, S_SECRET | S_VISITOR, SEC_ENTRY, "secretKey"},
    {"allow-users", 0, K_LIST, S_SECRET, SEC_ENTRY, "allowUsers"},
    {"visitor-name", 'n', K_STR, S_VISITOR, SEC_ENTRY, "name"},
    {"server-name", 0, K_STR, S_VISITOR, SEC_ENTRY, "serverName"},
    {"server-user", 0, K_STR, S_VISITOR, SEC_ENTRY, "serverUser"},
    {"bind-addr", 0, K_STR, S_VISITOR, SEC_ENTRY, "bindAddr"},
    {"bind-port", 0, K_INT, S_VISITOR, SEC_ENTRY, "bindPort"},
};
#define NFLAGS (sizeof FLAGS / sizeof FLAGS[0])

static const struct {
    const char *name;
    unsigned scope; /* proxy flags of this type */
    bool has_visitor;
} TYPES[] = {
    {"tcp", S_PROXY | S_REMOTE, false},
    {"udp", S_PROXY | S_REMOTE, false},
    {"http", S_PROXY | S_DOMAIN | S_HTTP | S_AUTH, false},
    {"https", S_PROXY | S_DOMAIN, false},
    {"tcpmux", S_PROXY | S_DOMAIN | S_AUTH | S_MUX, false},
    {"stcp", S_PROXY | S_SECRET, true},
    {"sudp", S_PROXY | S_SECRET, true},
    {"xtcp", S_PROXY | S_SECRET, true},
};
#define NTYPES (sizeof TYPES / sizeof TYPES[0])

static int find_type(const char *name)
{
    for (size_t i = 0; i < NTYPES; i++)
        if (strcmp(TYPES[i].name, name) == 0)
            return (int)i;
    return -1;
}

bool ufrpc_cli_is_quick(int argc, char **argv)
{
    return argc >= 2 && argv[1] != NULL && find_type(argv[1]) >= 0;
}

/* ---- flag lookup ---------------------------------------------------------------- */
static const struct flag *find_long(const char *name, unsigned scope)
{
    for (size_t i = 0; i < NFLAGS; i++)
        if ((FLAGS[i].scope & scope) && strcmp(FLAGS[i].name, name) == 0)
            return &FLAGS[i];
    return NULL;
}

static const struct flag *find_short(char c, unsigned scope)
{
    for (size_t i = 0; i < NFLAGS; i++)
        if ((FLAGS[i].scope & scope) && FLAGS[i].shorthand == c)
            return &FLAGS[i];
    return NULL;
}

static int fail(struct ufrpc_cli_quick_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(struct ufrpc_cli_quick_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
    return UFRPC_ERR_INVAL;
}

/* cobra's subcommand search: the first argument that is neither a flag nor the
 * value of a non-boolean flag. Returns its index or 0. */
static int find_subcommand(int argc, char **argv, unsigned scope)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            return 0;
        if (a[0] != '-' || a[1] == '\0')
            return i;
        const struct flag *f = NULL;
        if (a[1] == '-') {
            char name[64];
            if (strchr(a, '=') || ufrpc_cli_long_name(a, name, sizeof name) == NULL)
                continue;
            f = find_long(name, scope);
            if (strcmp(name, "help") == 0)
                continue;
        } else {
            if (a[2] != '\0')
                continue;
            if (a[1] == 'h')
                continue;
            f = find_short(a[1], scope);
        }
        if (!f || f->kind != K_BOOL)
            i++; /* an unknown flag is assumed to take a value, as cobra does */
    }
    return 0;
}

static int parse_int(const char *v, long long *out)
{
    if (!*v)
        return -1;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 0);
    if (errno || *end)
        return -1;
    *out = n;
    return 0;
}

/* One (flag, value) occurrence; values point into argv during the build only. */
struct occ {
    const struct flag *f;
    const char *value;
};

static void describe(const struct flag *f, char *buf, size_t cap)
{
    if (f->shorthand)
        snprintf(buf, cap, "-%c, --%s", f->shorthand, f->name);
    else
        snprintf(buf, cap, "--%s", f->name);
}

/* Checks a value against the flag's kind (as pflag's Set would). */
static int check_value(struct ufrpc_cli_quick_result *r, const struct flag *f, const char *v)
{
    char d[64];
    describe(f, d, sizeof d);
    long long n;
    bool b;
    if (f->kind == K_INT && parse_int(v, &n) != 0)
        return fail(r, "invalid argument \"%s\" for \"%s\" flag: not an integer", v, d);
    if (f->kind == K_BOOL && !ufrpc_parse_go_bool(v, strlen(v), &b))
        return fail(r, "invalid argument \"%s\" for \"%s\" flag: not a boolean", v, d);
    if (f->kind == K_MAP && *v) {
        /* every comma-separated item must be key=value */
        const char *p = v;
        for (;;) {
            const char *comma = strchr(p, ',');
            const char *eq = strchr(p, '=');
            if (!eq || (comma && eq > comma))
                return fail(r, "invalid argument \"%s\" for \"%s\" flag: %s must be formatted as key=value",
                            v, d, p);
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    return 0;
}

/* ---- TOML text ---------------------------------------------------------------- */
struct buf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* A TOML basic string: '"' and '\\' escaped, control characters (and DEL) as
 * escapes; other bytes (UTF-8) as they are. */
static void put_string(struct buf *b, const char *s, size_t n)
{
    put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(b, esc, 2);
        } else if (c == '\n') {
            put(b, "\\n", 2);
        } else if (c == '\t') {
            put(b, "\\t", 2);
        } else if (c == '\r') {
            put(b, "\\r", 2);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04X", (unsigned)c);
            put(b, esc, 6);
        } else {
            put(b, (const char *)&s[i], 1);
        }
    }
    put(b, "\"", 1);
}

/* Emits "key = value\n" for flag f from its occurrences (last one wins for
 * scalars; lists and maps accumulate). */
static void emit(struct buf *b, const struct flag *f, const struct occ *occ, size_t nocc)
{
    const char *last = NULL;
    for (size_t i = 0; i < nocc; i++)
        if (occ[i].f == f)
            last = occ[i].value;
    if (!last)
        return;
    puts_(b, f->key);
    puts_(b, " = ");
    if (f->kind == K_STR) {
        put_string(b, last, strlen(last));
    } else if (f->kind == K_INT) {
        long long n = 0;
        (void)parse_int(last, &n); /* checked while parsing */
        char num[32];
        snprintf(num, sizeof num, "%lld", n);
        puts_(b, num);
    } else if (f->kind == K_BOOL) {
        bool v = false;
        (void)ufrpc_parse_go_bool(last, strlen(last), &v);
        puts_(b, v ? "true" : "false");
    } else {
        bool map = f->kind == K_MAP;
        puts_(b, map ? "{" : "[");
        bool first = true;
        for (size_t i = 0; i < nocc; i++) {
            if (occ[i].f != f || !occ[i].value[0])
                continue;
            const char *p = occ[i].value;
            for (;;) {
                const char *comma = strchr(p, ',');
                size_t n = comma ? (size_t)(comma - p) : strlen(p);
                if (!first)
                    puts_(b, ", ");
                first = false;
                if (map) {
                    const char *eq = memchr(p, '=', n);
                    size_t kl = eq ? (size_t)(eq - p) : n;
                    put_string(b, p, kl);
                    puts_(b, " = ");
                    put_string(b, eq ? eq + 1 : p + n, eq ? n - kl - 1 : 0);
                } else {
                    put_string(b, p, n);
                }
                if (!comma)
                    break;
                p = comma + 1;
            }
        }
        puts_(b, map ? "}" : "]");
    }
    puts_(b, "\n");
}

/* ---- the build ------------------------------------------------------------------ */
int ufrpc_cli_quick_build(int argc, char **argv, struct ufrpc_cli_quick_result *r)
{
    memset(r, 0, sizeof *r);
    int t = argc >= 2 && argv[1] ? find_type(argv[1]) : -1;
    if (t < 0)
        return fail(r, "unknown command \"%s\" for \"ufrpc\"", argc >= 2 && argv[1] ? argv[1] : "");
    snprintf(r->type, sizeof r->type, "%s", TYPES[t].name);
    unsigned scope = S_COMMON | TYPES[t].scope;
    int sub = find_subcommand(argc, argv, scope);
    if (sub) {
        if (!TYPES[t].has_visitor || strcmp(argv[sub], "visitor") != 0)
            return fail(r, "unexpected argument \"%s\" for \"ufrpc %s\"", argv[sub], r->type);
        r->visitor = true;
        scope = S_COMMON | S_VISITOR;
    }

    struct occ *occ = calloc((size_t)argc, sizeof *occ);
    if (!occ)
        return UFRPC_ERR_NOMEM;
    size_t nocc = 0;
    int rc = 0;
    bool only_args = false;
    for (int i = 2; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (i == sub)
            continue;
        if (only_args || a[0] != '-' || a[1] == '\0') {
            rc = fail(r, "unexpected argument \"%s\" for \"ufrpc %s\"", a, r->type);
            break;
        }
        if (strcmp(a, "--") == 0) {
            only_args = true;
            continue;
        }
        const struct flag *f;
        const char *value = NULL;
        if (a[1] == '-') {
            char name[64];
            if (ufrpc_cli_long_name(a, name, sizeof name) == NULL) {
                rc = fail(r, "unknown flag: %.200s", a);
                break;
            }
            const char *eq = strchr(a, '=');
            if (strcmp(name, "help") == 0) {
                r->help = true;
                continue;
            }
            f = find_long(name, scope);
            if (!f) {
                rc = fail(r, "unknown flag: %.*s", eq ? (int)(eq - a) : 200, a);
                break;
            }
            if (eq)
                value = eq + 1;
        } else {
            if (a[1] == 'h' && a[2] == '\0') {
                r->help = true;
                continue;
            }
            f = find_short(a[1], scope);
            if (!f) {
                rc = fail(r, "unknown shorthand flag: '%c' in %.200s", a[1], a);
                break;
            }
            if (a[2] != '\0')
                value = a[2] == '=' ? a + 3 : a + 2;
        }
        if (!value) {
            if (f->kind == K_BOOL) {
                value = "true";
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                char d[64];
                describe(f, d, sizeof d);
                rc = fail(r, "flag needs an argument: %s", d);
                break;
            }
        }
        rc = check_value(r, f, value);
        if (rc == 0)
            occ[nocc++] = (struct occ){f, value};
    }
    if (rc != 0 || r->help) {
        free(occ);
        return rc;
    }
    /* frpc validates the entry before it runs and prints its words alone */
    bool named = false;
    for (size_t i = 0; i < nocc; i++)
        named |= strcmp(occ[i].f->key, "name") == 0 && occ[i].value[0] != '\0';
    if (!named) {
        free(occ);
        r->validation = true;
        /* (pkg/config/v1/validation: proxy.go and visitor.go word it differently) */
        return fail(r, r->visitor ? "name is required" : "name should not be empty");
    }

    struct buf b = {0};
    puts_(&b, "# ufrpc quick-run: ");
    puts_(&b, r->type);
    puts_(&b, r->visitor ? " visitor\n" : "\n");
    /* frpc's flag default, unlike the file schema's 0.0.0.0 */
    const struct flag *addr = find_long("server-addr", S_COMMON);
    bool addr_set = false;
    for (size_t i = 0; i < nocc; i++)
        addr_set |= occ[i].f == addr;
    if (!addr_set)
        puts_(&b, "serverAddr = \"127.0.0.1\"\n");
    for (size_t i = 0; i < NFLAGS; i++)
        if (FLAGS[i].sec == SEC_TOP)
            emit(&b, &FLAGS[i], occ, nocc);
    puts_(&b, r->visitor ? "\n[[visitors]]\n" : "\n[[proxies]]\n");
    puts_(&b, "type = ");
    put_string(&b, r->type, strlen(r->type));
    puts_(&b, "\n");
    for (size_t i = 0; i < NFLAGS; i++)
        if (FLAGS[i].sec == SEC_ENTRY && (FLAGS[i].scope & scope))
            emit(&b, &FLAGS[i], occ, nocc);
    free(occ);
    if (b.oom) {
        free(b.p);
        return UFRPC_ERR_NOMEM;
    }
    r->toml = b.p;
    r->len = b.len;
    return 0;
}

void ufrpc_cli_quick_result_free(struct ufrpc_cli_quick_result *r)
{
    free(r->toml);
    r->toml = NULL;
    r->len = 0;
}

static const char *help_of(const struct flag *f)
{
    static const struct {
        const char *name, *help;
    } H[] = {
        {"server-addr", "frp server's address (default \"127.0.0.1\")"},
        {"server-port", "frp server's port (default 7000)"},
        {"protocol", "optional values are [tcp kcp quic websocket wss] (default \"tcp\")"},
        {"token", "auth token"},
        {"user", "user"},
        {"client-id", "unique identifier for this frpc instance"},
        {"tls-enable", "enable frpc tls (default true)"},
        {"tls-server-name", "specify the custom server name of tls certificate"},
        {"dns-server", "specify dns server instead of using system default one"},
        {"log-level", "log level (default \"info\")"},
        {"log-file", "console or file path (default \"console\")"},
        {"log-max-days", "log file reversed days (default 3)"},
        {"disable-log-color", "disable log color in console"},
        {"local-ip", "local ip (default \"127.0.0.1\")"},
        {"bandwidth-limit-mode", "bandwidth limit mode (default \"client\")"},
        {"bandwidth-limit", "bandwidth limit (e.g. 100KB or 1MB)"},
        {"metadatas", "metadata key-value pairs (e.g., key1=value1,key2=value2) (default [])"},
        {"annotations", "annotation key-value pairs (e.g., key1=value1,key2=value2) (default [])"},
        {"ue", "use encryption"},
        {"uc", "use compression"},
        {"sd", "sub domain"},
        {"mux", "multiplexer"},
        {"sk", "secret key"},
        {"proxy-name", "proxy name"},
        {"local-port", "local port"},
        {"remote-port", "remote port"},
        {"custom-domain", "custom domains"},
        {"locations", "locations"},
        {"http-user", "http auth user"},
        {"http-pwd", "http auth password"},
        {"host-header-rewrite", "host header rewrite"},
        {"allow-users", "allow visitor users"},
        {"visitor-name", "visitor name"},
        {"server-name", "server name"},
        {"server-user", "server user"},
        {"bind-addr", "bind addr"},
        {"bind-port", "bind port"},
    };
    for (size_t i = 0; i < sizeof H / sizeof H[0]; i++)
        if (strcmp(H[i].name, f->name) == 0)
            return H[i].help;
    return "";
}

/* cobra's help of the subcommand: its flags, then the global ones (for a visitor the
 * proxy command's persistent flags too), pflag's layout (client/cli/cli_flags.h). */
void ufrpc_cli_quick_usage(FILE *out, const char *type, bool visitor)
{
    int t = find_type(type);
    if (t < 0)
        return;
    bool kids = !visitor && TYPES[t].has_visitor;
    fprintf(out, "Run ufrpc with a single %s %s\n\nUsage:\n  ufrpc %s%s [flags]\n", type,
            visitor ? "visitor" : "proxy", type, visitor ? " visitor" : "");
    if (kids)
        fprintf(out, "  ufrpc %s [command]\n\nAvailable Commands:\n  visitor     Run ufrpc with a "
                     "single %s visitor\n",
                type, type);
    static const char *const type_word[] = {
        [K_STR] = " string", [K_INT] = " int", [K_BOOL] = "", [K_LIST] = " strings",
        [K_MAP] = " stringToString"};
    unsigned local = visitor ? S_VISITOR : S_COMMON | TYPES[t].scope;
    char lines[NFLAGS + 16][200];
    const char *loc[NFLAGS + 1], *glob[NFLAGS + 16];
    size_t nl = 0, ng = 0, used = 0;
    for (size_t i = 0; i < NFLAGS; i++) {
        const struct flag *f = &FLAGS[i];
        bool in_local = (f->scope & local) && !(visitor && f->scope == S_COMMON);
        bool in_global = visitor && f->scope == S_COMMON;
        if (!in_local && !in_global)
            continue;
        if (f->shorthand)
            snprintf(lines[used], sizeof lines[used], "  -%c, --%s%s\t%s", f->shorthand, f->name,
                     type_word[f->kind], help_of(f));
        else
            snprintf(lines[used], sizeof lines[used], "      --%s%s\t%s", f->name,
                     type_word[f->kind], help_of(f));
        if (in_local)
            loc[nl++] = lines[used++];
        else
            glob[ng++] = lines[used++];
    }
    snprintf(lines[used], sizeof lines[used], "  -h, --help\thelp for %s", visitor ? "visitor" : type);
    loc[nl++] = lines[used++];
    size_t k = ufrpc_cli_global_flag_lines(lines + used, sizeof lines / sizeof lines[0] - used);
    for (size_t i = 0; i < k; i++)
        glob[ng++] = lines[used + i];
    fprintf(out, "\nFlags:\n");
    ufrpc_cli_print_flag_lines(out, loc, nl);
    fprintf(out, "\nGlobal Flags:\n");
    ufrpc_cli_print_flag_lines(out, glob, ng);
    if (kids)
        fprintf(out, "\nUse \"ufrpc %s [command] --help\" for more information about a "
                     "command.\n",
                type);
}

int ufrpc_cli_quick(int argc, char **argv)
{
    struct ufrpc_cli_quick_result r;
    int rc = ufrpc_cli_quick_build(argc, argv, &r);
    if (rc == UFRPC_ERR_NOMEM) {
        printf("out of memory\n");
        return 1;
    }
    if (rc != 0 && r.validation) {
        printf("%s\n", r.error);
        return 1;
    }
    if (rc != 0) { /* cobra: the error and the usage to stderr */
        fprintf(stderr, "Error: %s\n", r.error);
        if (r.type[0])
            ufrpc_cli_quick_usage(stderr, r.type, r.visitor);
        return 1;
    }
    if (r.help) {
        ufrpc_cli_quick_usage(stdout, r.type, r.visitor);
        return 0;
    }
    char label[48];
    snprintf(label, sizeof label, "ufrpc-%s%s.toml", r.type, r.visitor ? "-visitor" : "");
    int code = ufrpc_cli_run_text(r.toml, r.len, label);
    ufrpc_cli_quick_result_free(&r);
    return code;
}
