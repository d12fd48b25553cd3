import { migration001 } from './001-initial';
import { migration003 } from './003-run-owner';
import { migration004 } from './004-import-owner';
import { migration005 } from './005-jobs';
import { migration006 } from './006-health';
import { migration007 } from './007-image-exclusions';
import { migration008 } from './008-grid-indexes';
import { migration009 } from './009-run-log';
import type { Migration } from './types';

export type { Migration } from './types';

/** Registered in order; a new migration is a new numbered file added at the end of this list. */
export const migrations: readonly Migration[] = [migration001, migration003, migration004, migration005, migration006, migration007, migration008, migration009];
