// Secrets never reach a log, a plan, a journal or an error message. Everything that prints a command line
// or a program's output passes through here.
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]*?)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g;
// A base64-encoded PEM private key header ("-----BEGIN" + "... PRIVATE KEY") as it appears in Secret data.
const B64_PRIVATE_KEY = /LS0tLS1CRUdJTi[A-Za-z0-9+/=]*/g;
const SECRET_VALUE_KEYS = ['keyPEM', 'issuer.key', 'privateKey', 'password', 'token'];

export const REDACTED = '<redacted>';

export function redactText(text: string): string {
  return text.replace(PEM_BLOCK, REDACTED).replace(B64_PRIVATE_KEY, (m) => {
    try {
      return Buffer.from(m, 'base64').toString('utf8').includes('PRIVATE KEY') ? REDACTED : m;
    } catch {
      return m;
    }
  });
}

/** `--set a.keyPEM=...` and `--set-file a.keyPEM=/path` keep their key but hide an inline secret value. */
export function redactArg(arg: string): string {
  const eq = arg.indexOf('=');
  if (eq > 0 && SECRET_VALUE_KEYS.some((k) => arg.slice(0, eq).endsWith(k)) && !arg.slice(eq + 1).startsWith('/')) {
    return `${arg.slice(0, eq + 1)}${REDACTED}`;
  }
  return redactText(arg);
}

export const redactArgs = (args: readonly string[]): string[] => args.map(redactArg);
