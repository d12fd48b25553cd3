// Types for eslint-rules/layers.js, which tests import.
export interface LayerModule {
  name: string;
  files: string[];
  imports: string[];
}
export interface KnownViolation {
  rule: 'layers' | 'no-import-cycles';
  file: string;
  target: string;
}
export const MODULES: LayerModule[];
export const ELECTRON_ALLOWED: string[];
export const PROCESS_ENTRIES: string[];
export const KNOWN_VIOLATIONS: KnownViolation[];
