import { describe, expect, it } from 'vitest';
import { evaluateVersionPolicy, parseTargetVersion } from '../../src/dapr/version-policy.js';
import { DaprupError, ExitCode } from '../../src/errors.js';

function refusedWith(fn: () => unknown): DaprupError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DaprupError);
    return e as DaprupError;
  }
  throw new Error('expected a refusal');
}

describe('version policy', () => {
  it.each([
    ['1.16.18', '1.16.19', 'patch'],
    ['1.16.19', '1.17.2', 'minor'],
    ['1.16.19', '1.16.19', 'none'],
  ])('%s → %s is a %s change', (from, to, change) => {
    expect(evaluateVersionPolicy(from, to).change).toBe(change);
  });

  it('refuses skipping a minor and names the way forward', () => {
    const e = refusedWith(() => evaluateVersionPolicy('1.15.12', '1.17.2'));
    expect(e.exitCode).toBe(ExitCode.refused);
    expect(e.message).toContain('skips minor version 1.16');
    expect(e.hint).toContain('1.16.x first');
    expect(evaluateVersionPolicy('1.15.12', '1.17.2', { allowSkipMinor: true }).warnings.join()).toContain('best effort');
  });

  it('refuses a downgrade unless allowed, with the known pitfalls as warnings', () => {
    expect(refusedWith(() => evaluateVersionPolicy('1.17.2', '1.16.19')).message).toContain('downgrade');
    const v = evaluateVersionPolicy('1.17.2', '1.16.19', { allowDowngrade: true });
    expect(v.change).toBe('downgrade');
    expect(v.warnings.join()).toContain('disseminateTimeout');
  });

  it('refuses the recalled 1.14.3 even with overrides', () => {
    expect(
      refusedWith(() => evaluateVersionPolicy('1.14.2', '1.14.3', { allowSkipMinor: true, allowDowngrade: true, allowPrerelease: true }))
        .message,
    ).toContain('recalled');
  });

  it('refuses vendor builds, installed or targeted', () => {
    expect(refusedWith(() => evaluateVersionPolicy('1.15.3-msft.2', '1.15.4')).message).toContain('vendor build');
    expect(refusedWith(() => evaluateVersionPolicy('1.15.3', '1.15.4-msft.1')).message).toContain('vendor build');
  });

  it('treats release candidates as opt-in', () => {
    expect(refusedWith(() => evaluateVersionPolicy('1.16.19', '1.16.20-rc.2')).hint).toContain('--allow-prerelease');
    expect(evaluateVersionPolicy('1.16.19', '1.16.20-rc.2', { allowPrerelease: true }).change).toBe('patch');
  });

  it('leaves what a hop changes (the 1.15 scheduler data) to the release notes: no second copy here', () => {
    expect(evaluateVersionPolicy('1.14.4', '1.15.12').warnings.join()).not.toContain('scheduler');
  });

  it('refuses a non-semver installed version and a major jump', () => {
    expect(refusedWith(() => evaluateVersionPolicy('edge', '1.16.19')).message).toContain('not a semantic version');
    expect(refusedWith(() => evaluateVersionPolicy('1.16.19', '2.0.0')).message).toContain('major');
  });

  it('parses user input strictly', () => {
    expect(parseTargetVersion('v1.16.19')).toBe('1.16.19');
    for (const bad of ['1.16', 'latest', '1.16.x', '']) expect(refusedWith(() => parseTargetVersion(bad)).exitCode).toBe(ExitCode.usage);
  });
});
