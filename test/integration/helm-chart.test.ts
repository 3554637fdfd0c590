// daprup's helm adapter and StatefulSet comparison against real helm 3 and helm 4 and the project's
// loopback chart repository: chart lookup by APP VERSION, CRDs from the pulled chart, immutable fields
// found from `helm template`.
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Helm } from '../../src/cluster/helm.js';
import type { Workload } from '../../src/cluster/k8s-types.js';
import { ExecaRunner } from '../../src/cluster/runner.js';
import { statefulSetsToRecreate } from '../../src/dapr/statefulsets.js';
import { startChartRepo, type ChartRepo } from '../support/chart-repo.js';
import { HELM_FLAVOURS, helmHomeEnv } from '../support/tools.js';

const workloads = (yaml: string) =>
  parseAllDocuments(yaml)
    .map((d) => d.toJSON() as Workload | null)
    .filter((o): o is Workload => !!o && ['Deployment', 'StatefulSet'].includes(o.kind));

describe.each(HELM_FLAVOURS)('$name', (flavour) => {
  let repo: ChartRepo;
  let helm: Helm;
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), `daprup-int-${flavour.name}-`));
    Object.assign(process.env, helmHomeEnv(work, {}));
    repo = await startChartRepo({ helm: flavour.helm });
    helm = new Helm(new ExecaRunner(), flavour.helm);
    await helm.repoAdd('dapr', repo.url);
    await helm.repoUpdate('dapr');
  });
  afterAll(async () => repo?.stop());

  it(`reads helm ${flavour.major}`, async () => {
    expect((await helm.version()).major).toBe(flavour.major);
  });

  it('finds chart versions with their APP VERSION', async () => {
    const versions = await helm.searchVersions('dapr/dapr');
    expect(versions.map((v) => v.version)).toEqual(expect.arrayContaining(['1.15.12', '1.16.18', '1.16.19', '1.17.2']));
    expect(versions.every((v) => v.app_version === v.version)).toBe(true);
    expect((await helm.showChart('dapr/dapr', '1.16.19')).appVersion).toBe('1.16.19');
  });

  it('pulls the target chart with its CRDs, offline from then on', async () => {
    const dest = join(work, 'pull');
    await helm.pull('dapr/dapr', '1.17.2', dest);
    const crds = await readdir(join(dest, 'dapr', 'crds'));
    expect(crds).toEqual(
      expect.arrayContaining(['components.yaml', 'configuration.yaml', 'subscription.yaml', 'resiliency.yaml', 'httpendpoints.yaml']),
    );
  });

  it('finds the placement StatefulSet to recreate when HA is enabled, and none for a patch upgrade', async () => {
    const dest = join(work, 'tpl');
    await helm.pull('dapr/dapr', '1.16.18', join(dest, 'a'));
    await helm.pull('dapr/dapr', '1.16.19', join(dest, 'b'));
    const before = workloads(await helm.template('dapr', join(dest, 'a', 'dapr'), 'dapr-system', ['--set', 'global.ha.enabled=false']));
    const patch = workloads(await helm.template('dapr', join(dest, 'b', 'dapr'), 'dapr-system', ['--set', 'global.ha.enabled=false']));
    const ha = workloads(await helm.template('dapr', join(dest, 'b', 'dapr'), 'dapr-system', ['--set', 'global.ha.enabled=true']));

    expect(statefulSetsToRecreate(before, patch, 'dapr-system')).toEqual([]);
    const recreate = statefulSetsToRecreate(before, ha, 'dapr-system');
    expect(recreate.map((r) => r.name)).toEqual(['dapr-placement-server']);
    expect(recreate[0]!.changes.join()).toContain('raft-log');
    expect(ha.find((w) => w.metadata.name === 'dapr-placement-server')!.spec.replicas).toBe(3);
  });
});
