// listr2 progress for runbook steps: the default renderer at a terminal, one plain line per event otherwise.
import type { ExecuteHooks } from '../runbook/execute.js';
import type { Prompter } from './prompter.js';
import { redactText } from '../cluster/redact.js';

export function progressHooks(o: {
  interactive: boolean;
  silent: boolean;
  prompter: Prompter;
  write: (line: string) => void;
}): ExecuteHooks {
  return {
    async runTask(title, work) {
      const { Listr } = await import('listr2');
      const renderer = o.silent ? 'silent' : o.interactive ? 'default' : 'simple';
      await new Listr(
        [
          {
            title,
            task: async (_ctx, task) =>
              work((m) => {
                task.output = redactText(m);
              }),
          },
        ],
        {
          renderer,
          fallbackRenderer: 'simple',
          rendererOptions: { outputBar: 3, persistentOutput: true },
          exitOnError: true,
          registerSignalListeners: false,
        } as never,
      ).run();
    },
    skipped(title, reason) {
      if (!o.silent) o.write(`↓ ${title} [skipped: ${reason}]`);
    },
    async confirmStep(step, plan) {
      return o.prompter.confirm(`${step.title}: ${plan.summary}. Continue?`);
    },
  };
}
