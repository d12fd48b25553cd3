import type { z } from 'zod';
import type { RequestMap } from '../../shared/contract/index';

/** The handlers of one contract domain: one async function per channel, typed from the schemas. */
export type DomainHandlers<M extends RequestMap> = {
  [C in keyof M]: (payload: z.output<M[C]['payload']>) => Promise<z.output<M[C]['result']>>;
};
