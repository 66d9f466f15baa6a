/* ufrpc — `ufrpc nathole discover`: frpc's STUN probe (cmd/frpc/sub/nathole.go,
 * pkg/nathole/discovery.go and classify.go of frp v0.70.0).
 *
 * natHoleStunServer comes from --nat-hole-stun-server, else the configuration (-c;
 * a file that does not load is ignored, as frpc: the default stun.easyvoip.com:3478).
 * One UDP socket (IPv4; bound to -l ADDR when given) sends a Binding Request to the
 * server and, when the answer names another address (OTHER-ADDRESS or
 * CHANGED-ADDRESS), a second one there; each answer is awaited 3 s. Prints frpc's
 * report (STUN server, NAT type, behaviour, external and local address, public
 * network) or its error line, exit 1. A one-shot command: it blocks (no event loop
 * runs). */
#ifndef UFRPC_CLIENT_CLI_NATHOLE_H
#define UFRPC_CLIENT_CLI_NATHOLE_H

#include <stdio.h>

struct ufrpc_cli_opts;

/* Returns the exit code. */
int ufrpc_cli_nathole_discover(const struct ufrpc_cli_opts *o, FILE *out);

#endif
