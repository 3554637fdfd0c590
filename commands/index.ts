// Every daprup command, by id: oclif finds them here (package.json oclif.commands, strategy "explicit"), so the npm
// package and the standalone executable (one bundled script, no command files to find) run the same table.
// A command file not listed here does not exist for either.
import type { Command } from '@oclif/core';
import CertsCheck from './certs/check.js';
import CertsExport from './certs/export.js';
import CertsRotate from './certs/rotate.js';
import Check from './check.js';
import Plan from './plan.js';
import Restart from './restart.js';
import Rollback from './rollback.js';
import Status from './status.js';
import Upgrade from './upgrade.js';

export const COMMANDS = {
  'certs:check': CertsCheck,
  'certs:export': CertsExport,
  'certs:rotate': CertsRotate,
  check: Check,
  plan: Plan,
  restart: Restart,
  rollback: Rollback,
  status: Status,
  upgrade: Upgrade,
} satisfies Record<string, Command.Class>;
