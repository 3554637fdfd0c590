// The sidecar injector stand-in's mutation (test/sandbox/injector.ts), checked against what the real Dapr injector
// does to a pod (dapr/dapr pkg/injector/patcher): classic daprd container, native sidecar (1.18+), the annotation
// overriding the injector's NATIVE_SIDECAR_ENABLED, and pods that already have daprd.
import { describe, expect, it } from 'vitest';
import { mutate, type InjectorConfig } from '../sandbox/injector.js';

interface Container {
  name: string;
  image?: string;
  restartPolicy?: string;
}
interface TestPod {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { containers: Container[]; initContainers?: Container[] };
}

const INJECTOR_IMAGE = 'docker.io/daprio/daprd:1.18.3';

function pod(annotations: Record<string, string>, spec: Partial<TestPod['spec']> = {}): TestPod {
  return {
    metadata: {
      name: 'web-1',
      labels: { app: 'web' },
      annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'web', ...annotations },
    },
    spec: { containers: [{ name: 'app', image: 'example/web:1' }], ...spec },
  };
}

const injector =
  (config: Partial<InjectorConfig> = {}) =>
  async (): Promise<InjectorConfig | undefined> => ({
    sidecarImage: INJECTOR_IMAGE,
    nativeSidecar: false,
    ...config,
  });

/** Applies the stand-in's JSON patch the way the apiserver does (only the `add` forms it emits). */
function applyPatch(target: TestPod, ops: { op: string; path: string; value: unknown }[]): TestPod {
  const doc = structuredClone(target) as unknown as Record<string, unknown>;
  for (const { op, path, value } of ops) {
    expect(op).toBe('add');
    const keys = path
      .split('/')
      .slice(1)
      .map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = keys.pop()!;
    let parent: unknown = doc;
    for (const k of keys) parent = (parent as Record<string, unknown>)[k];
    if (Array.isArray(parent)) {
      if (last !== '-') throw new Error(`unexpected array index in ${path}`);
      parent.push(value);
    } else {
      if (parent === undefined) throw new Error(`missing parent for ${path}`);
      (parent as Record<string, unknown>)[last] = value;
    }
  }
  return doc as unknown as TestPod;
}

async function inject(p: TestPod, config = injector()): Promise<TestPod> {
  return applyPatch(p, await mutate(p, config));
}

const names = (cs: Container[] | undefined) => (cs ?? []).map((c) => c.name);

describe('injector stand-in: classic sidecar', () => {
  it('appends daprd with the injector’s image to the containers and labels the pod', async () => {
    const out = await inject(pod({}));
    expect(names(out.spec.containers)).toEqual(['app', 'daprd']);
    expect(out.spec.containers[1]!.image).toBe(INJECTOR_IMAGE);
    expect(out.spec.containers[1]!.restartPolicy).toBeUndefined();
    expect(out.spec.initContainers).toBeUndefined();
    expect(out.metadata.labels).toEqual({ app: 'web', 'dapr.io/sidecar-injected': 'true' });
  });

  it('injects nothing without dapr.io/enabled, or without an injector', async () => {
    expect(await mutate(pod({ 'dapr.io/enabled': 'false' }), injector())).toEqual([]);
    expect(await mutate(pod({}), async () => undefined)).toEqual([]);
  });
});

describe('injector stand-in: native sidecar', () => {
  const truthy = ['y', 'yes', 'true', 't', 'on', '1', 'TRUE', 'Yes', 'On', ' T ', 'Y'];

  it.each(truthy)('dapr.io/enable-native-sidecar: %j puts daprd in initContainers with restartPolicy Always', async (value) => {
    const out = await inject(pod({ 'dapr.io/enable-native-sidecar': value }));
    expect(names(out.spec.containers)).toEqual(['app']);
    expect(out.spec.initContainers).toEqual([expect.objectContaining({ name: 'daprd', image: INJECTOR_IMAGE, restartPolicy: 'Always' })]);
    expect(out.metadata.labels?.['dapr.io/sidecar-injected']).toBe('true');
  });

  it.each(['false', 'no', '0', 'off', '', 'enabled', 'truthy'])(
    'dapr.io/enable-native-sidecar: %j keeps daprd a regular container',
    async (value) => {
      const out = await inject(pod({ 'dapr.io/enable-native-sidecar': value }));
      expect(names(out.spec.containers)).toEqual(['app', 'daprd']);
      expect(out.spec.initContainers).toBeUndefined();
    },
  );

  it('the injector’s NATIVE_SIDECAR_ENABLED makes every pod native', async () => {
    const out = await inject(pod({}), injector({ nativeSidecar: true }));
    expect(names(out.spec.containers)).toEqual(['app']);
    expect(out.spec.initContainers).toEqual([expect.objectContaining({ name: 'daprd', restartPolicy: 'Always' })]);
  });

  it('the annotation overrides the injector’s setting both ways, whatever its value', async () => {
    const optedOut = await inject(pod({ 'dapr.io/enable-native-sidecar': 'false' }), injector({ nativeSidecar: true }));
    expect(names(optedOut.spec.containers)).toEqual(['app', 'daprd']);
    expect(optedOut.spec.initContainers).toBeUndefined();
    // Present but empty is "set to false" in SetFromPodAnnotations, not "unset".
    const empty = await inject(pod({ 'dapr.io/enable-native-sidecar': '' }), injector({ nativeSidecar: true }));
    expect(names(empty.spec.initContainers)).toEqual([]);
    const optedIn = await inject(pod({ 'dapr.io/enable-native-sidecar': 'on' }), injector({ nativeSidecar: false }));
    expect(names(optedIn.spec.initContainers)).toEqual(['daprd']);
  });

  it('appends daprd after the pod’s own init containers', async () => {
    const out = await inject(
      pod({ 'dapr.io/enable-native-sidecar': 'true' }, { initContainers: [{ name: 'migrate', image: 'example/migrate:1' }] }),
    );
    expect(names(out.spec.initContainers)).toEqual(['migrate', 'daprd']);
    expect(out.spec.initContainers?.[0]?.restartPolicy).toBeUndefined();
  });

  it('works with an empty initContainers list', async () => {
    const out = await inject(pod({ 'dapr.io/enable-native-sidecar': 'true' }, { initContainers: [] }));
    expect(names(out.spec.initContainers)).toEqual(['daprd']);
  });

  it('uses a pinned dapr.io/sidecar-image in both forms', async () => {
    const pinned = 'docker.io/daprio/daprd:1.17.13';
    const native = await inject(pod({ 'dapr.io/enable-native-sidecar': 'true', 'dapr.io/sidecar-image': pinned }));
    expect(native.spec.initContainers?.[0]).toMatchObject({ name: 'daprd', image: pinned, restartPolicy: 'Always' });
    const classic = await inject(pod({ 'dapr.io/sidecar-image': pinned }), injector({ nativeSidecar: false }));
    expect(classic.spec.containers[1]).toMatchObject({ name: 'daprd', image: pinned });
  });

  it('skips a pod that already has daprd, as a container or as a native init container', async () => {
    const native = pod({}, { initContainers: [{ name: 'daprd', image: 'old', restartPolicy: 'Always' }] });
    expect(await mutate(native, injector())).toEqual([]);
    expect(await mutate(native, injector({ nativeSidecar: true }))).toEqual([]);
    const classic = pod({ 'dapr.io/enable-native-sidecar': 'true' }, { containers: [{ name: 'app' }, { name: 'daprd', image: 'old' }] });
    expect(await mutate(classic, injector())).toEqual([]);
  });
});
