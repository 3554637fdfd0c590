// Kubectl.listRaw: the fleet-scale reads go straight to the API (`kubectl get --raw`), kubectl decodes nothing.
import { describe, expect, it } from 'vitest';
import { Kubectl } from '../../src/cluster/kubectl.js';
import { FakeRunner } from './fake-runner.js';

describe('Kubectl.listRaw', () => {
  it('reads the list path of a kind, scoped by namespace and label selector', async () => {
    const runner = new FakeRunner().on('kubectl', ['--kubeconfig'], JSON.stringify({ kind: 'PodList', apiVersion: 'v1', items: [] }));
    const k = new Kubectl(runner, 'kubectl', { kubeconfig: '/k' });
    await k.listRaw('pods');
    await k.listRaw('deployments', { namespace: 'shop' });
    await k.listRaw('pods', { namespace: 'shop', selector: 'app in (a,b),tier=web' });
    expect(runner.calls.map((c) => c.args)).toEqual([
      ['--kubeconfig', '/k', 'get', '--raw', '/api/v1/pods'],
      ['--kubeconfig', '/k', 'get', '--raw', '/apis/apps/v1/namespaces/shop/deployments'],
      ['--kubeconfig', '/k', 'get', '--raw', '/api/v1/namespaces/shop/pods?labelSelector=app%20in%20(a%2Cb)%2Ctier%3Dweb'],
    ]);
  });

  it('gives items back their kind and apiVersion and drops managedFields, as kubectl get does', async () => {
    const raw = {
      kind: 'DeploymentList',
      apiVersion: 'apps/v1',
      items: [{ metadata: { name: 'orders', namespace: 'shop', managedFields: [{ manager: 'kubectl' }] }, spec: {} }],
    };
    const runner = new FakeRunner().on('kubectl', ['get', '--raw'], JSON.stringify(raw));
    const items = await new Kubectl(runner, 'kubectl').listRaw('deployments');
    expect(items).toEqual([{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'orders', namespace: 'shop' }, spec: {} }]);
  });
});
