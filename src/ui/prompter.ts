// Confirmations: asked at a terminal, answered by --yes, refused when nobody is there to answer.
import { DaprupError, ExitCode } from '../errors.js';

import type { Prompter } from '../runbook/execute.js';

export type { Prompter };

export class TerminalPrompter implements Prompter {
  async confirm(message: string): Promise<boolean> {
    // Loaded on demand: most commands never prompt, and startup time matters.
    const { confirm } = await import('@inquirer/prompts');
    return confirm({ message, default: false }, { output: process.stderr });
  }
}

export const yesPrompter: Prompter = { confirm: async () => true };

export const unattendedPrompter: Prompter = {
  async confirm(message: string): Promise<boolean> {
    throw new DaprupError(
      `Confirmation needed but nobody can answer it here: ${message}`,
      'Run at a terminal, or pass --yes to confirm in advance.',
      ExitCode.confirmationNeeded,
    );
  },
};
