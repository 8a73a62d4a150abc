// The `provisioning` section of /etc/twinslot/config.json: absent (the thing's own certificate is
// installed) or fleet provisioning by claim.

import { CodedError } from '../../common/errors.ts';

export interface ClaimConfig {
  mode: 'claim';
  claimCertPath: string;
  claimKeyPath: string;
  templateName: string;
  parameters: Record<string, string>;
}

const KEYS = ['mode', 'claimCertPath', 'claimKeyPath', 'templateName', 'parameters'];

function invalid(path: string, message: string): CodedError {
  return new CodedError('CONFIG_INVALID', `provisioning.${path}: ${message}`, { path: `provisioning.${path}` });
}

/** The claim settings, or null when the config has no `provisioning` section. */
export function parseProvisioningConfig(root: unknown): ClaimConfig | null {
  const section = (root as Record<string, unknown> | null)?.['provisioning'];
  if (section === undefined) return null;
  if (typeof section !== 'object' || section === null || Array.isArray(section)) throw invalid('(section)', 'must be an object');
  const s = section as Record<string, unknown>;
  for (const key of Object.keys(s)) if (!KEYS.includes(key)) throw invalid(key, 'unknown key');
  if (s['mode'] !== 'claim') throw invalid('mode', 'must be "claim"');
  const str = (key: string): string => {
    const v = s[key];
    if (typeof v !== 'string' || v === '') throw invalid(key, 'must be a non-empty string');
    return v;
  };
  const params = s['parameters'] ?? {};
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw invalid('parameters', 'must be an object');
  const parameters: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    if (typeof v !== 'string') throw invalid(`parameters.${k}`, 'must be a string');
    parameters[k] = v;
  }
  return { mode: 'claim', claimCertPath: str('claimCertPath'), claimKeyPath: str('claimKeyPath'), templateName: str('templateName'), parameters };
}
