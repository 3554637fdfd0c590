import { describe, expect, it } from 'vitest';
import { redactArg, redactText } from '../../src/cluster/redact.js';
import { makeTrustBundle } from '../support/certs.js';

describe('redaction', () => {
  const { issuerKey } = makeTrustBundle();
  const b64 = Buffer.from(issuerKey).toString('base64');

  it('removes PEM private keys and their base64 form from any text', () => {
    const text = `before\n${issuerKey}\nissuer.key: ${b64}\nafter`;
    const out = redactText(text);
    expect(out).not.toContain('PRIVATE KEY');
    expect(out).not.toContain(b64.slice(0, 40));
    expect(out).toContain('before');
    expect(out).toContain('after');
  });

  it('keeps certificates and file paths, hides inline key values', () => {
    expect(redactArg('dapr_sentry.tls.issuer.keyPEM=/run/certs/issuer.key')).toBe('dapr_sentry.tls.issuer.keyPEM=/run/certs/issuer.key');
    expect(redactArg(`dapr_sentry.tls.issuer.keyPEM=${issuerKey}`)).toBe('dapr_sentry.tls.issuer.keyPEM=<redacted>');
    expect(redactArg('global.ha.enabled=true')).toBe('global.ha.enabled=true');
  });
});
