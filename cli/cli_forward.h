/*
 * cli_forward.h -- the operator commands of the relay-test forwarder
 * (issue 3): drop-boxes, verdict corrections, releasing a message to the
 * forward queue and listing that queue. Only cli/ includes it.
 */
#ifndef RT_CLI_FORWARD_H
#define RT_CLI_FORWARD_H

struct cli;

int	 cli_dropbox(struct cli *c, int argc, char **argv);
int	 cli_verdict(struct cli *c, int argc, char **argv);
int	 cli_queue_release(struct cli *c, int argc, char **argv);
int	 cli_forward(struct cli *c, int argc, char **argv);

#endif
