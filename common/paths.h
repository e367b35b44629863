/*
 * Default paths shared by the daemons, ipopctl and the packaging: where
 * tincan's control socket lives and where each daemon keeps its state.
 */
#ifndef IPOP_PATHS_H
#define IPOP_PATHS_H

#define IPOP_RUN_DIR "/run/ipop"
#define IPOP_SOCKET_DEFAULT IPOP_RUN_DIR "/tincan.sock"
/* ipopctl and scripts read the socket path from this variable. */
#define IPOP_SOCKET_ENV "IPOP_SOCKET"
#define IPOP_TINCAN_STATE_DEFAULT "/var/lib/ipop"
#define IPOP_CONTROLLER_STATE_DEFAULT "/var/lib/ipop-controller"

#endif
