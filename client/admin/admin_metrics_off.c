/* client/admin/admin_metrics_off.c — replaces client/admin/admin_metrics.c and
 * admin_dashboard.c (with the embedded page) in a build with UFRPC_WITH_METRICS=OFF
 * (CMakeLists.txt): /api/metrics and /dashboard are not routes then (admin_routes.c:
 * 404, and "/" redirects to /static/ as frpc's), so these are not reached from it.
 * Contract: client/admin/admin_internal.h. */
#include "client/admin/admin_internal.h"
#include "proto/error.h"

int ufrpc_admin_metrics_json(const struct ufrpc_metrics_src *src, struct ufrpc_admin_buf *out)
{
    return UFRPC_ERR_UNSUPPORTED;
}

int ufrpc_admin_dashboard(const struct ufrpc_metrics_src *src, struct ufrpc_admin_buf *out)
{
    return UFRPC_ERR_UNSUPPORTED;
}
