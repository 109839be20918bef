/*
 * cli_analyze.h -- `relaytrap analyze`.
 */
#ifndef RT_CLI_ANALYZE_H
#define RT_CLI_ANALYZE_H

struct cli;

int	 cli_analyze(struct cli *c, int argc, char **argv);

#endif
