/* client/cli/cli_flags.c — the command and flag table, its parser and its help. See
 * cli_flags.h. */
#include "client/cli/cli_flags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli/cli_admin.h"
#include "client/cli/cli_diagnose.h"
#include "client/cli/cli_quick.h"
#include "client/cli/cli_util.h"
#include "proto/text.h"

#define BIT(c) (1u << (c))
#define ALL 0xffffu

enum kind { F_BOOL, F_STR, F_SLICE, F_DURATION };

struct flag {
    const char *name;
    char shorthand;
    enum kind kind;
    const char *type; /* pflag's type word in the help ("string", "duration", ...) */
    const char *usage;
    const char *dflt; /* the "(default ...)" text, NULL: none */
    unsigned cmds;    /* commands that have it; ALL: persistent (a global flag) */
    unsigned global_in; /* commands where it is a parent's persistent flag */
};

/* Sorted by name, as pflag prints them. */
static const struct flag FLAGS[] = {
    {"allow-unsafe", 0, F_SLICE, "strings",
     "allowed unsafe features, one or more of: TokenSourceExec", NULL, ALL, 0},
    {"api-timeout", 0, F_DURATION, "duration", "Timeout for admin API calls", "30s",
     BIT(UFRPC_CMD_RELOAD) | BIT(UFRPC_CMD_STATUS) | BIT(UFRPC_CMD_STOP), 0},
    {"config", 'c', F_STR, "string", "config file of frpc",
     "\"./frpc.toml\", else \"./frpc.ini\"", ALL, 0},
    {"config-dir", 0, F_STR, "string",
     "config directory, run one frpc service for each file in config directory", NULL, ALL, 0},
    {"json", 0, F_BOOL, "", "with --print: the configuration as JSON (ufrpc)", NULL,
     BIT(UFRPC_CMD_VERIFY), 0},
    {"log-json", 0, F_BOOL, "", "write log lines as JSON (ufrpc)", NULL, ALL, 0},
    {"metrics", 0, F_BOOL, "",
     "print the client's metrics: Prometheus text, or with =json /api/metrics (ufrpc)", NULL,
     BIT(UFRPC_CMD_STATUS), 0},
    {"nat-hole-local-addr", 'l', F_STR, "string", "local address to connect STUN server", NULL,
     BIT(UFRPC_CMD_NATHOLE) | BIT(UFRPC_CMD_NATHOLE_DISCOVER), BIT(UFRPC_CMD_NATHOLE_DISCOVER)},
    {"nat-hole-stun-server", 0, F_STR, "string", "STUN server address for nathole", NULL,
     BIT(UFRPC_CMD_NATHOLE) | BIT(UFRPC_CMD_NATHOLE_DISCOVER), BIT(UFRPC_CMD_NATHOLE_DISCOVER)},
    {"no-descriptions", 0, F_BOOL, "", "disable completion descriptions", NULL,
     BIT(UFRPC_CMD_COMPLETION_BASH) | BIT(UFRPC_CMD_COMPLETION_ZSH) | BIT(UFRPC_CMD_COMPLETION_FISH),
     0},
    {"print", 0, F_BOOL, "", "print the effective configuration, secrets masked (ufrpc)", NULL,
     BIT(UFRPC_CMD_VERIFY), 0},
    {"strict-config", 0, F_BOOL, "",
     "strict config parsing mode, unknown fields will cause an errors", "true", ALL, 0},
    {"version", 'v', F_BOOL, "", "version of frpc", NULL, ALL, 0},
};
#define NFLAGS (sizeof FLAGS / sizeof FLAGS[0])

struct command {
    const char *name; /* as typed; "" for the root */
    const char *path; /* "ufrpc verify" */
    enum ufrpc_cli_cmd parent;
    const char *shrt; /* the line in "Available Commands" */
    const char *lng;  /* the help's first paragraph */
};

/* A build without completion scripts (UFRPC_WITH_COMPLETION=0, set for this file by
 * CMakeLists.txt) keeps only the one-line help of `completion bash|zsh|fish`. */
#if defined(UFRPC_WITH_COMPLETION) && !UFRPC_WITH_COMPLETION
#define COMPLETION_HELP(text) NULL
#else
#define COMPLETION_HELP(text) text
#endif

static const struct command CMDS[UFRPC_CMD_COUNT] = {
    [UFRPC_CMD_ROOT] = {"", "ufrpc", UFRPC_CMD_ROOT, "",
                        "ufrpc is a client of frp (https://github.com/fatedier/frp), in C; it "
                        "reads frpc's\nconfiguration files and takes frpc's command line."},
    [UFRPC_CMD_VERIFY] = {"verify", "ufrpc verify", UFRPC_CMD_ROOT,
                          "Verify that the configures is valid", NULL},
    [UFRPC_CMD_RELOAD] = {"reload", "ufrpc reload", UFRPC_CMD_ROOT,
                          "Hot-Reload frpc configuration", NULL},
    [UFRPC_CMD_STATUS] = {"status", "ufrpc status", UFRPC_CMD_ROOT,
                          "Overview of all proxies status", NULL},
    [UFRPC_CMD_STOP] = {"stop", "ufrpc stop", UFRPC_CMD_ROOT, "Stop the running frpc", NULL},
    [UFRPC_CMD_COMPLETION] = {"completion", "ufrpc completion", UFRPC_CMD_ROOT,
                              "Generate the autocompletion script for the specified shell",
                              "Generate the autocompletion script for ufrpc for the specified "
                              "shell.\nSee each sub-command's help for details on how to use "
                              "the generated script."},
    [UFRPC_CMD_COMPLETION_BASH] = {"bash", "ufrpc completion bash", UFRPC_CMD_COMPLETION,
                                   "Generate the autocompletion script for bash",
                                   COMPLETION_HELP("Generate the autocompletion script for the bash shell.\n\n"
                                   "This script depends on the 'bash-completion' package.\n"
                                   "If it is not installed already, you can install it via your "
                                   "OS's package manager.\n\n"
                                   "To load completions in your current shell session:\n\n"
                                   "\tsource <(ufrpc completion bash)\n\n"
                                   "To load completions for every new session, execute once:\n\n"
                                   "\tufrpc completion bash > /etc/bash_completion.d/ufrpc\n\n"
                                   "You will need to start a new shell for this setup to take "
                                   "effect.")},
    [UFRPC_CMD_HELP] = {"help", "ufrpc help", UFRPC_CMD_ROOT, "Help about any command",
                        "Help provides help for any command in the application.\nSimply type "
                        "ufrpc help [path to command] for full details."},
    [UFRPC_CMD_NATHOLE] = {"nathole", "ufrpc nathole", UFRPC_CMD_ROOT, "Actions about nathole",
                           NULL},
    [UFRPC_CMD_NATHOLE_DISCOVER] = {"discover", "ufrpc nathole discover", UFRPC_CMD_NATHOLE,
                                    "Discover nathole information from stun server", NULL},
    [UFRPC_CMD_DIAGNOSE] = {"diagnose", "ufrpc diagnose", UFRPC_CMD_ROOT,
                            "Check each step between this client and frps (ufrpc)", NULL},
    [UFRPC_CMD_COMPLETION_ZSH] = {"zsh", "ufrpc completion zsh", UFRPC_CMD_COMPLETION,
                                  "Generate the autocompletion script for zsh",
                                  COMPLETION_HELP("Generate the autocompletion script for the zsh shell.\n\n"
                                  "To load completions in your current shell session:\n\n"
                                  "\tsource <(ufrpc completion zsh)\n\n"
                                  "To load completions for every new session, execute once:\n\n"
                                  "\tufrpc completion zsh > \"${fpath[1]}/_ufrpc\"\n\n"
                                  "You will need to start a new shell for this setup to take "
                                  "effect.")},
    [UFRPC_CMD_COMPLETION_FISH] = {"fish", "ufrpc completion fish", UFRPC_CMD_COMPLETION,
                                   "Generate the autocompletion script for fish",
                                   COMPLETION_HELP("Generate the autocompletion script for the fish shell.\n\n"
                                   "To load completions in your current shell session:\n\n"
                                   "\tufrpc completion fish | source\n\n"
                                   "To load completions for every new session, execute once:\n\n"
                                   "\tufrpc completion fish > ~/.config/fish/completions/ufrpc.fish\n\n"
                                   "You will need to start a new shell for this setup to take "
                                   "effect.")},
    [UFRPC_CMD_QUICK] = {NULL, NULL, UFRPC_CMD_ROOT, NULL, NULL},
};

static const char *const QUICK[] = {"http", "https", "stcp", "sudp", "tcp", "tcpmux", "udp", "xtcp"};
#define NQUICK (sizeof QUICK / sizeof QUICK[0])

static bool is_quick(const char *w)
{
    for (size_t i = 0; i < NQUICK; i++)
        if (strcmp(QUICK[i], w) == 0)
            return true;
    return false;
}

/* The child of parent named w, or -1. */
static int child(enum ufrpc_cli_cmd parent, const char *w)
{
    for (int c = 0; c < UFRPC_CMD_COUNT; c++)
        if (c != UFRPC_CMD_ROOT && CMDS[c].name != NULL && CMDS[c].parent == parent &&
            strcmp(CMDS[c].name, w) == 0)
            return c;
    return -1;
}

static bool has_children(enum ufrpc_cli_cmd cmd)
{
    if (cmd == UFRPC_CMD_ROOT)
        return true;
    for (int c = 1; c < UFRPC_CMD_COUNT; c++)
        if (CMDS[c].name != NULL && CMDS[c].parent == cmd)
            return true;
    return false;
}

static const struct flag *find_long(const char *name, enum ufrpc_cli_cmd cmd)
{
    for (size_t i = 0; i < NFLAGS; i++)
        if ((FLAGS[i].cmds & BIT(cmd)) && strcmp(FLAGS[i].name, name) == 0)
            return &FLAGS[i];
    return NULL;
}

static const struct flag *find_short(char c, enum ufrpc_cli_cmd cmd)
{
    for (size_t i = 0; i < NFLAGS; i++)
        if ((FLAGS[i].cmds & BIT(cmd)) && FLAGS[i].shorthand == c)
            return &FLAGS[i];
    return NULL;
}

static int fail(struct ufrpc_cli_opts *o, bool usage, const char *fmt, const char *a,
                const char *b)
{
    snprintf(o->error, sizeof o->error, fmt, a, b);
    o->error_usage = usage;
    return -1;
}

void ufrpc_cli_allow_unsafe(const char *value, bool *token_exec)
{
    for (const char *p = value; *p;) {
        size_t n = strcspn(p, ",");
        if (n == strlen("TokenSourceExec") && strncmp(p, "TokenSourceExec", n) == 0)
            *token_exec = true;
        p += n + (p[n] == ',');
    }
}

static int set_flag(struct ufrpc_cli_opts *o, const struct flag *f, const char *v,
                    const char *shown)
{
    char flagname[80];
    snprintf(flagname, sizeof flagname, "--%s", f->name);
    switch (f->kind) {
    case F_BOOL: {
        bool b = true;
        if (strcmp(f->name, "metrics") == 0 && v != NULL &&
            (strcmp(v, "json") == 0 || strcmp(v, "prometheus") == 0 || strcmp(v, "text") == 0)) {
            o->metrics = v[0] == 'j' ? 2 : 1;
            return 0;
        }
        if (v != NULL && !ufrpc_parse_go_bool(v, strlen(v), &b)) {
            snprintf(o->error, sizeof o->error,
                     "invalid argument \"%.60s\" for \"%.40s\" flag: strconv.ParseBool: parsing "
                     "\"%.60s\": invalid syntax",
                     v, shown, v);
            o->error_usage = true;
            return -1;
        }
        if (strcmp(f->name, "version") == 0)
            o->version = b;
        else if (strcmp(f->name, "strict-config") == 0)
            o->strict = b;
        else if (strcmp(f->name, "log-json") == 0)
            o->log_json = b;
        else if (strcmp(f->name, "print") == 0)
            o->print = b;
        else if (strcmp(f->name, "json") == 0)
            o->json = b;
        else if (strcmp(f->name, "no-descriptions") == 0)
            o->no_descriptions = b;
        else if (strcmp(f->name, "metrics") == 0)
            o->metrics = b ? 1 : 0;
        return 0;
    }
    case F_STR:
        if (strcmp(f->name, "config") == 0) {
            if (v[0] == '\0')
                return fail(o, false, "%s%s", "empty config file name", "");
            o->config = v;
        } else if (strcmp(f->name, "config-dir") == 0) {
            o->config_dir = v;
        } else if (strcmp(f->name, "nat-hole-stun-server") == 0) {
            o->stun_server = v;
        } else {
            o->nat_local_addr = v;
        }
        return 0;
    case F_SLICE: /* --allow-unsafe */
        ufrpc_cli_allow_unsafe(v, &o->allow_token_exec);
        return 0;
    case F_DURATION:
        if (ufrpc_cli_admin_parse_duration(v, &o->api_timeout_ms) != 0) {
            snprintf(o->error, sizeof o->error,
                     "invalid argument \"%.60s\" for \"%.40s\" flag: time: invalid duration "
                     "\"%.60s\"",
                     v, shown, v);
            o->error_usage = true;
            return -1;
        }
        return 0;
    }
    return 0;
}

int ufrpc_cli_parse_opts(int argc, char **argv, struct ufrpc_cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->strict = true;
    o->api_timeout_ms = 30000;
    o->cmd = UFRPC_CMD_ROOT;
    bool words_done = false; /* a positional argument ended the command path */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            for (i++; i < argc && o->nargs < 4; i++)
                o->args[o->nargs++] = argv[i];
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            int c = words_done ? -1 : child(o->cmd, a);
            if (c >= 0 && o->cmd != UFRPC_CMD_HELP) {
                o->cmd = (enum ufrpc_cli_cmd)c;
                continue;
            }
            if (o->cmd == UFRPC_CMD_ROOT && !words_done && is_quick(a)) {
                if (i != 1) /* client/cli/cli_quick.c reads the type from argv[1] */
                    return fail(o, false, "the proxy type must come first: ufrpc %.20s [flags]%s",
                                a, "");
                o->cmd = UFRPC_CMD_QUICK; /* client/cli/cli_quick.c parses the rest */
                return 0;
            }
            if (o->cmd == UFRPC_CMD_ROOT) {
                snprintf(o->error, sizeof o->error, "unknown command \"%.100s\" for \"ufrpc\"", a);
                o->error_usage = false;
                return -1;
            }
            words_done = true;
            if (o->nargs < 4)
                o->args[o->nargs++] = a;
            continue;
        }
        const struct flag *f = NULL;
        const char *v = NULL;
        char shown[80];
        if (a[1] == '-') {
            char name[64];
            if (ufrpc_cli_long_name(a, name, sizeof name) == NULL)
                return fail(o, true, "unknown flag: %.100s%s", a, "");
            const char *eq = strchr(a, '=');
            if (strcmp(name, "help") == 0) {
                o->help = true;
                continue;
            }
            f = find_long(name, o->cmd);
            if (f == NULL) {
                char bare[120];
                snprintf(bare, sizeof bare, "%.*s", eq ? (int)(eq - a) : 100, a);
                return fail(o, true, "unknown flag: %s%s", bare, "");
            }
            snprintf(shown, sizeof shown, "--%s", f->name);
            if (eq != NULL)
                v = eq + 1;
            else if (f->kind != F_BOOL) {
                if (i + 1 >= argc)
                    return fail(o, true, "flag needs an argument: %s%s", a, "");
                v = argv[++i];
            }
        } else {
            char sc[2] = {a[1], 0};
            if (a[1] == 'h') {
                o->help = true;
                continue;
            }
            f = find_short(a[1], o->cmd);
            if (f == NULL)
                return fail(o, true, "unknown shorthand flag: '%s' in %.100s", sc, a);
            snprintf(shown, sizeof shown, "-%c", a[1]);
            if (a[2] == '=')
                v = a + 3;
            else if (a[2] != '\0' && f->kind != F_BOOL)
                v = a + 2;
            else if (a[2] != '\0')
                return fail(o, true, "unknown shorthand flag: '%s' in %.100s", (char[2]){a[2], 0},
                            a);
            else if (f->kind != F_BOOL) {
                if (i + 1 >= argc)
                    return fail(o, true, "flag needs an argument: '%s' in %.100s", sc, a);
                v = argv[++i];
            }
        }
        if (set_flag(o, f, v, shown) != 0)
            return -1;
    }
    return 0;
}

bool ufrpc_cli_flag_takes_value(const char *arg)
{
    char name[64];
    if (arg[0] != '-')
        return false;
    if (arg[1] != '-')
        return arg[2] == '\0' && arg[1] == 'c';
    if (strchr(arg, '=') != NULL || ufrpc_cli_long_name(arg, name, sizeof name) == NULL)
        return false;
    for (size_t i = 0; i < NFLAGS; i++)
        if (strcmp(FLAGS[i].name, name) == 0)
            return FLAGS[i].kind != F_BOOL;
    return false;
}

/* ---- help -------------------------------------------------------------------------- */

struct line {
    char left[96];
    const char *usage;
    char dflt[64];
};

/* pflag's FlagUsages: "  -c, --config string" padded to the widest + 3. */
static void print_flags(FILE *out, const struct line *l, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (strlen(l[i].left) > w)
            w = strlen(l[i].left);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%-*s   %s%s\n", (int)w, l[i].left, l[i].usage, l[i].dflt);
}

static void flag_line(struct line *l, const struct flag *f)
{
    if (f->shorthand)
        snprintf(l->left, sizeof l->left, "  -%c, --%s%s%s", f->shorthand, f->name,
                 f->type[0] ? " " : "", f->type);
    else
        snprintf(l->left, sizeof l->left, "      --%s%s%s", f->name, f->type[0] ? " " : "",
                 f->type);
    l->usage = f->usage;
    l->dflt[0] = '\0';
    if (f->dflt != NULL)
        snprintf(l->dflt, sizeof l->dflt, " (default %s)", f->dflt);
}

static void help_line(struct line *l, const char *name)
{
    snprintf(l->left, sizeof l->left, "  -h, --help");
    l->usage = "help for";
    snprintf(l->dflt, sizeof l->dflt, " %s", name);
}

static void print_commands(FILE *out, enum ufrpc_cli_cmd cmd)
{
    /* the names, sorted as cobra sorts them */
    const char *names[32];
    const char *shorts[32];
    size_t n = 0;
    for (int c = 1; c < UFRPC_CMD_COUNT; c++)
        if (CMDS[c].name != NULL && CMDS[c].parent == cmd && n < 32)
            names[n] = CMDS[c].name, shorts[n++] = CMDS[c].shrt;
    for (size_t q = 0; cmd == UFRPC_CMD_ROOT && q < NQUICK && n < 32; q++)
        names[n] = QUICK[q], shorts[n++] = NULL;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            const char *t = names[j];
            names[j] = names[j - 1], names[j - 1] = t;
            t = shorts[j];
            shorts[j] = shorts[j - 1], shorts[j - 1] = t;
        }
    fprintf(out, "\nAvailable Commands:\n");
    for (size_t i = 0; i < n; i++) {
        if (shorts[i] != NULL)
            fprintf(out, "  %-11s %s\n", names[i], shorts[i]);
        else
            fprintf(out, "  %-11s Run ufrpc with a single %s proxy\n", names[i], names[i]);
    }
}

static void usage_body(FILE *out, enum ufrpc_cli_cmd cmd, bool with_help_flag)
{
    const struct command *c = &CMDS[cmd];
    bool kids = has_children(cmd);
    fprintf(out, "Usage:\n");
    if (cmd == UFRPC_CMD_ROOT)
        fprintf(out, "  ufrpc [flags]\n  ufrpc [command]\n");
    else if (cmd == UFRPC_CMD_HELP)
        fprintf(out, "  ufrpc help [command] [flags]\n");
    else if (kids)
        fprintf(out, "  %s [command]\n", c->path);
    else if (cmd == UFRPC_CMD_COMPLETION_BASH)
        fprintf(out, "  %s\n", c->path);
    else
        fprintf(out, "  %s [flags]\n", c->path);
    if (kids)
        print_commands(out, cmd);
    struct line local[NFLAGS + 1], global[NFLAGS];
    size_t nl = 0, ng = 0;
    for (size_t i = 0; i < NFLAGS; i++) {
        const struct flag *f = &FLAGS[i];
        if (!(f->cmds & BIT(cmd)))
            continue;
        if ((f->cmds == ALL && cmd != UFRPC_CMD_ROOT) || (f->global_in & BIT(cmd)))
            flag_line(&global[ng++], f);
        else
            flag_line(&local[nl++], f);
    }
    /* insert -h/--help at its place by name ("help") */
    if (with_help_flag) {
        size_t at = 0;
        while (at < nl && strcmp(strstr(local[at].left, "--") + 2, "help") < 0)
            at++;
        memmove(&local[at + 1], &local[at], (nl - at) * sizeof local[0]);
        help_line(&local[at], cmd == UFRPC_CMD_ROOT ? "ufrpc" : c->name);
        nl++;
    }
    if (nl > 0) {
        fprintf(out, "\nFlags:\n");
        print_flags(out, local, nl);
    }
    if (ng > 0) { /* sorted by name across the parents' flags too */
        for (size_t i = 1; i < ng; i++)
            for (size_t j = i; j > 0 && strcmp(strstr(global[j - 1].left, "--"),
                                               strstr(global[j].left, "--")) > 0;
                 j--) {
                struct line t = global[j];
                global[j] = global[j - 1], global[j - 1] = t;
            }
        fprintf(out, "\nGlobal Flags:\n");
        print_flags(out, global, ng);
    }
    if (kids)
        fprintf(out, "\nUse \"%s [command] --help\" for more information about a command.\n",
                c->path);
}

void ufrpc_cli_usage_of(FILE *out, enum ufrpc_cli_cmd cmd)
{
    usage_body(out, cmd, true);
}

void ufrpc_cli_help(FILE *out, enum ufrpc_cli_cmd cmd)
{
    if (cmd == UFRPC_CMD_DIAGNOSE) { /* its own flags and help */
        ufrpc_cli_diagnose_usage(out);
        return;
    }
    const struct command *c = &CMDS[cmd];
    fprintf(out, "%s\n\n", c->lng ? c->lng : c->shrt);
    usage_body(out, cmd, true);
}

static int by_long_name(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return strcmp(strstr(x, "--") + 2, strstr(y, "--") + 2);
}

void ufrpc_cli_print_flag_lines(FILE *out, const char **lines, size_t n)
{
    qsort(lines, n, sizeof lines[0], by_long_name);
    int w = 0;
    for (size_t i = 0; i < n; i++) {
        int l = (int)(strchr(lines[i], '\t') - lines[i]);
        w = l > w ? l : w;
    }
    for (size_t i = 0; i < n; i++) {
        const char *tab = strchr(lines[i], '\t');
        fprintf(out, "%-*.*s   %s\n", w, (int)(tab - lines[i]), lines[i], tab + 1);
    }
}

size_t ufrpc_cli_global_flag_lines(char (*buf)[200], size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < NFLAGS && n < max; i++) {
        if (FLAGS[i].cmds != ALL)
            continue;
        struct line l;
        flag_line(&l, &FLAGS[i]);
        snprintf(buf[n++], 200, "%s\t%s%s", l.left, l.usage, l.dflt);
    }
    return n;
}

int ufrpc_cli_help_topic(FILE *out, int n, const char *const *topic)
{
    enum ufrpc_cli_cmd cmd = UFRPC_CMD_ROOT;
    if (n > 0 && is_quick(topic[0])) {
        ufrpc_cli_quick_usage(out, topic[0], n > 1 && strcmp(topic[1], "visitor") == 0);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        int c = child(cmd, topic[i]);
        if (c < 0) {
            /* cobra: the topic's usage, before its help flag exists */
            fprintf(out, "Unknown help topic [`%s`]\n", topic[i]);
            usage_body(out, cmd, false);
            return 0;
        }
        cmd = (enum ufrpc_cli_cmd)c;
    }
    ufrpc_cli_help(out, cmd);
    return 0;
}

int ufrpc_cli_fail(const struct ufrpc_cli_opts *o)
{
    fprintf(stderr, "Error: %s\n", o->error);
    if (o->error_usage) {
        usage_body(stderr, o->cmd, true);
        fprintf(stderr, "\n");
    } else {
        fprintf(stderr, "Run '%s --help' for usage.\n", CMDS[o->cmd].path ? CMDS[o->cmd].path : "ufrpc");
    }
    return 1;
}

const char *const *ufrpc_cli_command_names(void)
{
    static const char *const names[] = {"completion", "diagnose", "help",   "http",
                                        "https",      "nathole",  "reload", "status",
                                        "stcp",       "stop",     "sudp",   "tcp",
                                        "tcpmux",     "udp",      "verify", "xtcp",
                                        NULL};
    return names;
}

void ufrpc_cli_flag_words(enum ufrpc_cli_cmd cmd, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NFLAGS; i++) {
        if (!(FLAGS[i].cmds & BIT(cmd)))
            continue;
        int k = FLAGS[i].shorthand
                    ? snprintf(buf + o, cap - o, "%s-%c --%s", o ? " " : "", FLAGS[i].shorthand,
                               FLAGS[i].name)
                    : snprintf(buf + o, cap - o, "%s--%s", o ? " " : "", FLAGS[i].name);
        if (k < 0 || (size_t)k >= cap - o)
            break;
        o += (size_t)k;
    }
    if (o + 12 < cap)
        snprintf(buf + o, cap - o, "%s-h --help", o ? " " : "");
}
