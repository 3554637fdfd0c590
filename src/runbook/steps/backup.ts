// backup: the user's own Helm values (without the certificate PEMs, which travel only through the 0600
// export) and every Dapr custom resource in every namespace, as YAML in the run's directory.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { stringify } from 'yaml';
import { DAPR_RESOURCES } from '../../dapr/chart.js';
import { withoutTlsValues } from '../../dapr/values.js';
import type { RunContext, Step } from '../types.js';

export const backupFiles = (workDir: string) => ({
  dir: join(workDir, 'backup'),
  values: join(workDir, 'backup', 'user-values.yaml'),
  resources: join(workDir, 'backup', 'dapr-resources.yaml'),
});

/** Only resource types whose CRD exists can be listed (kubectl fails the whole call otherwise). */
const installedResources = (ctx: RunContext) =>
  DAPR_RESOURCES.filter((r) => ctx.crds.some((c) => c.name === `${r}.dapr.io` && c.action !== 'create')).map((r) => `${r}.dapr.io`);

/** One `kubectl get` of every installed kind in every namespace: what apply reads is what plan shows. */
const resourcesRead = (kinds: readonly string[]) => [kinds.join(','), { allNamespaces: true }] as const;

export const backup: Step = {
  id: 'backup',
  title: 'Back up Helm values and Dapr resources',
  async plan(ctx) {
    const r = ctx.facts.release;
    const { helm, kubectl } = ctx.tools;
    const kinds = installedResources(ctx);
    return {
      summary: `user values and ${kinds.length} Dapr resource types to ${backupFiles(ctx.workDir).dir}`,
      commands: [
        helm.commandLine(helm.userValuesArgs(r.name, r.namespace)),
        ...(kinds.length ? [kubectl.getArgv(...resourcesRead(kinds))] : []),
      ],
      destructive: false,
    };
  },
  async isDone(ctx) {
    const f = backupFiles(ctx.workDir);
    return existsSync(f.values) && existsSync(f.resources);
  },
  async apply(ctx, report) {
    const r = ctx.facts.release;
    const f = backupFiles(ctx.workDir);
    await mkdir(f.dir, { recursive: true, mode: 0o700 });
    const values = await ctx.tools.helm.userValues(r.name, r.namespace);
    await writeFileAtomic(f.values, stringify(withoutTlsValues(values)), { mode: 0o600 });
    const kinds = installedResources(ctx);
    const items = kinds.length ? await ctx.tools.kubectl.list(...resourcesRead(kinds)) : [];
    report(`${items.length} Dapr resources saved`);
    // Components may carry plain-text secrets in their metadata: 0600 like the values.
    await writeFileAtomic(f.resources, stringify({ apiVersion: 'v1', kind: 'List', items }), { mode: 0o600 });
  },
  async verify(ctx) {
    if (!(await this.isDone(ctx))) throw new Error('backup files are missing');
  },
};
