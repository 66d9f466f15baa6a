/* ufrpc-embed-example SERVER:PORT TOKEN LOCAL_PORT REMOTE_PORT
 *
 * libufrpc embedded in a program with its own libuv loop: one tcp proxy
 * (127.0.0.1:LOCAL_PORT published on the server's REMOTE_PORT); once it runs, a
 * second one (same local port, REMOTE_PORT + 1) is added to the running client.
 * Every state change is printed; SIGINT stops the client (CloseProxy for each) and
 * the program exits 0 once it has closed.
 *
 * Build against an installed libufrpc:
 *   cc embed.c $(pkg-config --cflags --libs ufrpc) -o ufrpc-embed-example */
/* uv.h needs POSIX types (pthread_rwlock_t) that a strict -std=c11 hides */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ufrpc.h>

struct app {
    uv_signal_t sigint;
    ufrpc_client *client;
    int local_port, remote_port;
    int second_added;
};

static int add_tcp(struct app *app, int remote_port)
{
    ufrpc_spec *s;
    int rc = ufrpc_spec_new(UFRPC_PROXY, "tcp", &s);
    if (rc)
        return rc;
    ufrpc_spec_set_str(s, "localIP", "127.0.0.1");
    ufrpc_spec_set_int(s, "localPort", app->local_port);
    ufrpc_spec_set_int(s, "remotePort", remote_port);
    char name[64];
    rc = ufrpc_client_add(app->client, s, name, sizeof name);
    ufrpc_spec_free(s);
    if (rc)
        fprintf(stderr, "add proxy: %s\n", ufrpc_client_last_error(app->client));
    else
        printf("added proxy %s (remote port %d)\n", name, remote_port);
    fflush(stdout);
    return rc;
}

static void on_state(ufrpc_client *c, int kind, const char *name, int state, const char *error,
                     void *data)
{
    struct app *app = data;
    printf("%s %s: %s%s%s\n", kind == UFRPC_PROXY ? "proxy" : "visitor", name,
           ufrpc_state_name(state), error ? ": " : "", error ? error : "");
    fflush(stdout);
    if (state == UFRPC_STATE_RUNNING && !app->second_added) {
        app->second_added = 1;
        add_tcp(app, app->remote_port + 1);
    }
    (void)c;
}

static void on_close(ufrpc_client *c, int status, const char *msg, void *data)
{
    struct app *app = data;
    printf("client closed: %s%s%s\n", ufrpc_strerror(status), msg ? ": " : "", msg ? msg : "");
    fflush(stdout);
    uv_close((uv_handle_t *)&app->sigint, NULL);
    (void)c;
}

static void on_sigint(uv_signal_t *h, int signum)
{
    struct app *app = h->data;
    (void)signum;
    printf("interrupted: stopping\n");
    fflush(stdout);
    uv_signal_stop(h);
    if (ufrpc_client_stop(app->client, NULL, NULL) != 0)
        uv_close((uv_handle_t *)h, NULL);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s SERVER:PORT TOKEN LOCAL_PORT REMOTE_PORT\n", argv[0]);
        return 2;
    }
    char host[256];
    const char *colon = strrchr(argv[1], ':');
    if (!colon || (size_t)(colon - argv[1]) >= sizeof host) {
        fprintf(stderr, "SERVER:PORT expected, got %s\n", argv[1]);
        return 2;
    }
    memcpy(host, argv[1], (size_t)(colon - argv[1]));
    host[colon - argv[1]] = '\0';
    signal(SIGPIPE, SIG_IGN);

    struct app app = {.local_port = atoi(argv[3]), .remote_port = atoi(argv[4])};
    uv_loop_t *loop = uv_default_loop();
    int rc = ufrpc_client_new(&app.client);
    if (!rc)
        rc = ufrpc_client_set_str(app.client, "serverAddr", host);
    if (!rc)
        rc = ufrpc_client_set_int(app.client, "serverPort", atoi(colon + 1));
    if (!rc)
        rc = ufrpc_client_set_str(app.client, "auth.token", argv[2]);
    if (!rc)
        rc = ufrpc_client_set_str(app.client, "log.level", "warn");
    if (!rc)
        rc = ufrpc_client_on_state(app.client, on_state, &app);
    if (!rc)
        rc = ufrpc_client_on_close(app.client, on_close, &app);
    if (!rc)
        rc = add_tcp(&app, app.remote_port);
    if (!rc)
        rc = ufrpc_client_start(app.client, loop);
    if (rc) {
        fprintf(stderr, "ufrpc: %s\n", app.client ? ufrpc_client_last_error(app.client) : ufrpc_strerror(rc));
        ufrpc_client_free(app.client);
        return 1;
    }
    uv_signal_init(loop, &app.sigint);
    app.sigint.data = &app;
    uv_signal_start(&app.sigint, on_sigint, SIGINT);
    uv_run(loop, UV_RUN_DEFAULT);
    ufrpc_client_free(app.client);
    uv_loop_close(loop);
    return 0;
}
