/* client/admin/admin_dashboard.c — GET / (and /dashboard): ufrpc's own small admin page.
 * The page is client/admin/web/dashboard.html, embedded at build time
 * (scripts/embed.cmake); its proxies table is rendered here, on the loop, so it
 * shows state, traffic and errors without JavaScript; the page's script then
 * refreshes it from /api/metrics, draws a traffic sparkline per proxy and drives
 * reload and the config editor (/api/reload, GET/PUT /api/config). */
#include <stdio.h>
#include <string.h>

#include "client/admin/admin_internal.h"
#include "proto/error.h"

extern const unsigned char ufrpc_dashboard_html[];
extern const size_t ufrpc_dashboard_html_len;

static void esc(struct ufrpc_admin_buf *b, const char *s)
{
    for (const char *p = s ? s : ""; *p; p++) {
        switch (*p) {
        case '&': ufrpc_admin_buf_str(b, "&amp;"); break;
        case '<': ufrpc_admin_buf_str(b, "&lt;"); break;
        case '>': ufrpc_admin_buf_str(b, "&gt;"); break;
        case '"': ufrpc_admin_buf_str(b, "&quot;"); break;
        case '\'': ufrpc_admin_buf_str(b, "&#39;"); break;
        default: ufrpc_admin_buf_add(b, p, 1);
        }
    }
}

static void size(struct ufrpc_admin_buf *b, uint64_t v)
{
    static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
    double d = (double)v;
    size_t i = 0;
    while (d >= 1024 && i + 1 < sizeof units / sizeof units[0])
        d /= 1024, i++;
    if (i == 0)
        ufrpc_admin_buf_printf(b, "%llu B", (unsigned long long)v);
    else
        ufrpc_admin_buf_printf(b, "%.1f %s", d, units[i]);
}

static void rows(const struct ufrpc_metrics_src *s, struct ufrpc_admin_buf *b)
{
    size_t n = s->reg ? ufrpc_registry_count(s->reg) : 0, k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct ufrpc_tunnel *t = ufrpc_registry_at(s->reg, i);
        if (t == NULL || t->kind != UFRPC_TUNNEL_PROXY)
            continue;
        k++;
        const char *st = ufrpc_tunnel_state_name(t->state);
        ufrpc_admin_buf_str(b, "<tr data-name=\"");
        esc(b, t->name);
        ufrpc_admin_buf_str(b, "\"><td>");
        esc(b, t->name);
        ufrpc_admin_buf_str(b, "</td><td>");
        esc(b, t->type);
        ufrpc_admin_buf_printf(b, "</td><td class=\"st %s\"",
                               t->state == UFRPC_TUNNEL_RUNNING ? "running" : "err");
        if (t->last_error != NULL) {
            ufrpc_admin_buf_str(b, " title=\"");
            esc(b, t->last_error);
            ufrpc_admin_buf_str(b, "\"");
        }
        ufrpc_admin_buf_printf(b, ">%s</td><td class=\"n\">", st);
        size(b, t->c.bytes_in);
        ufrpc_admin_buf_str(b, "</td><td class=\"n\">");
        size(b, t->c.bytes_out);
        ufrpc_admin_buf_printf(b,
                               "</td><td class=\"n\">%llu (%llu open)</td><td class=\"n\">%llu</td>"
                               "<td><svg class=\"spark\" width=\"120\" height=\"24\" "
                               "role=\"img\"></svg></td></tr>\n",
                               (unsigned long long)t->c.conns_total,
                               (unsigned long long)t->c.conns_active,
                               (unsigned long long)t->c.errors);
    }
    if (k == 0)
        ufrpc_admin_buf_str(b, "<tr><td colspan=\"8\">no proxies</td></tr>\n");
}

int ufrpc_admin_dashboard(const struct ufrpc_metrics_src *s, struct ufrpc_admin_buf *b)
{
    const char *page = (const char *)ufrpc_dashboard_html, *end = page + ufrpc_dashboard_html_len;
    const char *m1 = strstr(page, "{{SESSION}}"), *m2 = m1 ? strstr(m1, "{{ROWS}}") : NULL;
    if (m2 == NULL) /* the build embedded a page without its markers */
        return UFRPC_ERR_STATE;
    ufrpc_admin_buf_add(b, page, (size_t)(m1 - page));
    bool up = s->sess != NULL && s->sess->up;
    ufrpc_admin_buf_printf(b, "%s, %llu login(s)", up ? "connected" : "not connected",
                           (unsigned long long)(s->sess ? s->sess->logins : 0));
    m1 += strlen("{{SESSION}}");
    ufrpc_admin_buf_add(b, m1, (size_t)(m2 - m1));
    rows(s, b);
    m2 += strlen("{{ROWS}}");
    ufrpc_admin_buf_add(b, m2, (size_t)(end - m2));
    return b->failed ? UFRPC_ERR_NOMEM : 0;
}
