/* client/core/alerts_off.c — replaces client/core/alerts.c, supervisor_alerts.c and
 * webhook.c in a build with UFRPC_WITH_ALERTS=OFF (CMakeLists.txt): config/unsupported.c
 * refuses an [alerts] table (its first key's line, the option), so a supervisor
 * never has thresholds: no timer, no webhook, no views. Contract:
 * client/core/supervisor_internal.h (supervisor_alerts.c's three functions). */
#include "client/core/supervisor_internal.h"

int ufrpc_sup_alerts_apply(ufrpc_sup_t *cl)
{
    return 0;
}

void ufrpc_sup_alerts_stop(ufrpc_sup_t *cl)
{
}

void ufrpc_sup_alerts_views(ufrpc_sup_t *cl, const struct ufrpc_alert_view **out, size_t *n)
{
    *out = NULL;
    *n = 0;
}
