// Input and result of the export worker task (issue 12 §2.4), without code: the export kind imports these and must
// not load TensorFlow.js to do so (the type-only import of package.ts is erased; WP5 gives RunForExport a tf-free home).
import type { ExportFormat, ExportResult } from '../../shared/contract/export';
import type { JobInput } from '../../shared/contract/jobs';
import type { RunForExport, VerifyImage } from './package';

export interface ExportPackageInput {
  run: RunForExport;
  target: JobInput<'export'>['target'];
  out: string;
  format: ExportFormat;
  overwrite: boolean;
  appVersion: string;
  images: VerifyImage[];
}
/** Tolerance and where the images came from are the kind's to add. */
export type ExportPackageResult = Omit<ExportResult, 'tolerance' | 'imagesSource'>;
