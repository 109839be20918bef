/*
 * cli_campaign.h -- "relaytrap campaigns" and "relaytrap campaign show":
 * the campaigns the campaign analyzer built (analyzers/an_campaign.h).
 * Only cli/ includes it.
 */
#ifndef RT_CLI_CAMPAIGN_H
#define RT_CLI_CAMPAIGN_H

struct cli;

int	 cli_campaigns(struct cli *c, int argc, char **argv);
int	 cli_campaign(struct cli *c, int argc, char **argv);

#endif
