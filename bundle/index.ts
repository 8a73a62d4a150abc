// The bundle module's public face: what the agent, the supervisor and the CLI import.

export type { Manifest, ManifestFile, HealthSpec, Entrypoint } from './manifest-types.ts';
export { BundleError, isBundleError, BUNDLE_ERROR_CODES, type BundleErrorCode } from './errors.ts';
export { DEFAULT_LIMITS, type BundleLimits } from './limits.ts';
export { parseManifest, validateManifest, serializeManifest, manifestDigest } from './manifest.ts';
export { loadTrust, parseTrustPem, type TrustStore, type TrustedKey } from './trust.ts';
export { generateKeyPair, parsePrivateKey, keyIdOf, KEY_ALGORITHMS, type KeyAlgorithm } from './keys.ts';
export { signManifest, verifyManifestSignature } from './signature.ts';
export { installBundle, type InstallOptions, type BundleResult } from './install.ts';
export { verifyBundle, inspectBundle, type VerifyOptions, type InspectResult } from './verify.ts';
export { buildManifest, writeBundle, createBundle, type ManifestSpec } from './create.ts';
export type { BundleSource } from './read.ts';
