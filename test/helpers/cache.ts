/**
 * The tests' zkml cache (development ptaus and the like), found from this file's own location: inside the
 * checkout's git-ignored .cache/, so the suite works from any clone and reruns reuse what earlier runs made.
 */
import { join } from 'node:path';

export const TEST_CACHE = join(import.meta.dirname, '..', '..', '.cache', 'test');
