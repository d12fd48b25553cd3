// Types for eslint-rules/plugin.js, which tests import.
import type { ESLint } from 'eslint';
import type { LayerModule } from './layers.js';

export function moduleOf(rel: string): LayerModule | null;
export function resolveRelative(root: string, fromRel: string, spec: string): string | null;
export function specifiersOf(absFile: string): string[];
export function importTargetsOf(root: string, fileRel: string): string[];
declare const plugin: ESLint.Plugin;
export default plugin;
