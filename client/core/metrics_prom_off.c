/* client/core/metrics_prom_off.c — replaces client/core/metrics_prom.c (and so
 * proto/promtext.c's writers) in a build with UFRPC_WITH_METRICS=OFF (CMakeLists.txt):
 * no exposition is rendered. The admin API has no /metrics route then
 * (admin_routes.c), so this is not reached from it. Contract: client/core/metrics.h. */
#include "client/core/metrics.h"

#include "proto/error.h"

int ufrpc_metrics_prom(const struct ufrpc_metrics_src *s, struct ufrpc_promtext *w)
{
    return UFRPC_ERR_UNSUPPORTED;
}
