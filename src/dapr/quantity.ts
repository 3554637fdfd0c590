// Sizes in the two notations daprup reads: Kubernetes quantities (`1000Mi`, `1G`: claim sizes, the
// sidecar-memory-limit annotation) and Go's GOMEMLIMIT byte counts (`900MiB`). Go accepts only whole numbers with
// B, KiB, MiB, GiB or TiB: `GOMEMLIMIT=900Mi` makes daprd exit at start with "malformed GOMEMLIMIT".

const KUBE_SUFFIX: Record<string, number> = {
  '': 1,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** A Kubernetes quantity in bytes (`1000Mi`, `1Gi`, `512M`, `1e9`), or undefined when it is not one. */
export function parseKubeQuantity(text: string | undefined): number | undefined {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?\s*$/.exec(text ?? '');
  if (!m) return undefined;
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  if (/^[eE]/.test(suffix)) return n * 10 ** Number(suffix.slice(1));
  return n * KUBE_SUFFIX[suffix]!;
}

/** Two quantities of the same size (`1Gi` and `1024Mi`); both absent are the same, a value that is not a quantity equals nothing. */
export function sameQuantity(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const size = parseKubeQuantity(a);
  return size !== undefined && size === parseKubeQuantity(b);
}

const GO_SUFFIX: Record<string, number> = { '': 1, B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 };

/** A GOMEMLIMIT value as the Go runtime reads it, or undefined when the runtime would reject it. */
export function parseGoByteCount(text: string | undefined): number | undefined {
  const m = /^(\d+)(B|KiB|MiB|GiB|TiB)?$/.exec(text ?? '');
  return m ? Number(m[1]) * GO_SUFFIX[m[2] ?? '']! : undefined;
}

/** `900Mi` (a Kubernetes suffix where Go wants `900MiB`): the GOMEMLIMIT mistake worth naming. */
export function goValueWithKubeSuffix(text: string): string | undefined {
  const m = /^(\d+)(Ki|Mi|Gi|Ti)$/.exec(text);
  return m ? `${m[1]}${m[2]}B` : undefined;
}

/** Whole MiB, rounded down: the unit GOMEMLIMIT advice is given in. */
export const toMiB = (bytes: number) => Math.floor(bytes / 2 ** 20);

/** `dapr.io/env`: `KEY=value,KEY2=value2` (as the injector splits it). */
export function parseDaprEnv(text: string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0) env[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return env;
}
