// The certificate-expiry flag, one definition for every command that checks the trust bundle (plan, upgrade,
// status, check, certs check), so each warns by the same rule. `certs check` used to spell it --warn-days: that
// spelling still works, as an alias.
import { Flags } from '@oclif/core';

export const certWarnDaysFlag = {
  'cert-warn-days': Flags.integer({
    description: 'warn when a trust-bundle certificate expires within this many days',
    default: 30,
    min: 0,
    aliases: ['warn-days'],
  }),
};
