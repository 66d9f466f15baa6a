/* client/admin/admin_store_off.c — replaces client/admin/admin_store.c in a build with
 * UFRPC_WITH_STORE=OFF (CMakeLists.txt): no store is ever open (store.path is refused
 * by config/unsupported.c and ufrpc_store_open fails), so /api/store/... is not a
 * route and answers 404 as any unknown path. Contract: client/admin/admin_internal.h. */
#include <stdlib.h>

#include "client/admin/admin_internal.h"

bool ufrpc_admin_store_match(const char *path, const char *method, bool *method_ok)
{
    return false;
}

void ufrpc_admin_store_route(const struct ufrpc_admin_session_cfg *c,
                             const struct ufrpc_admin_req *q, struct ufrpc_admin_resp *r)
{
    ufrpc_admin_json_error(r, 404, "store API is not supported by this build (UFRPC_WITH_STORE=OFF)");
}

void ufrpc_admin_store_job_run(struct ufrpc_admin_file_job *job)
{
}

/* No store job exists: only what every job may own is freed by the caller. */
void ufrpc_admin_store_job_free(struct ufrpc_admin_file_job *job)
{
}

void ufrpc_admin_file_job_finish(struct ufrpc_admin_file_job *job)
{
}
