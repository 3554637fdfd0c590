// A tiny HTTPS client for the sandbox apiserver, authenticated with the admin client certificate. The sandbox uses
// it to bootstrap (no kubectl needed) and the injector uses it inside its 10 s admission budget.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { parse as parseYaml } from 'yaml';

export interface KubeApiOptions {
  server: string;
  ca: string;
  cert: string;
  key: string;
}

export class KubeApiError extends Error {
  readonly status: number;
  constructor(method: string, path: string, status: number, body: string) {
    super(`${method} ${path} -> ${status}: ${body.slice(0, 500)}`);
    this.status = status;
  }
}

export class KubeApi {
  readonly #opts: KubeApiOptions;

  constructor(opts: KubeApiOptions) {
    this.#opts = opts;
  }

  /** From a kubeconfig the sandbox wrote (certificates inline), e.g. for a stand-in a test starts itself. */
  static fromKubeconfig(path: string): KubeApi {
    type Kubeconfig = {
      clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
      users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
    };
    const k = parseYaml(readFileSync(path, 'utf8')) as Kubeconfig;
    const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
    return new KubeApi({
      server: k.clusters[0]!.cluster.server,
      ca: b64(k.clusters[0]!.cluster['certificate-authority-data']),
      cert: b64(k.users[0]!.user['client-certificate-data']),
      key: b64(k.users[0]!.user['client-key-data']),
    });
  }

  /** Raw request; resolves with status and body text for any status code. */
  raw(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = 5_000,
    contentType = 'application/json',
  ): Promise<{ status: number; body: string }> {
    const url = new URL(path, this.#opts.server);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          ca: this.#opts.ca,
          cert: this.#opts.cert,
          key: this.#opts.key,
          timeout: timeoutMs,
          headers: {
            accept: 'application/json',
            ...(payload === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname} timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.raw(method, path, body);
    if (res.status < 200 || res.status >= 300) throw new KubeApiError(method, path, res.status, res.body);
    return JSON.parse(res.body) as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  /** A JSON patch (RFC 6902), as `kubectl patch --type=json` sends it. */
  async jsonPatch<T>(path: string, ops: readonly unknown[]): Promise<T> {
    const res = await this.raw('PATCH', path, ops, 5_000, 'application/json-patch+json');
    if (res.status < 200 || res.status >= 300) throw new KubeApiError('PATCH', path, res.status, res.body);
    return JSON.parse(res.body) as T;
  }

  /** POST that treats 409 AlreadyExists as success, so bootstrap steps can be re-run. */
  async create(path: string, body: unknown): Promise<void> {
    const res = await this.raw('POST', path, body);
    if (res.status === 409 || (res.status >= 200 && res.status < 300)) return;
    throw new KubeApiError('POST', path, res.status, res.body);
  }
}
