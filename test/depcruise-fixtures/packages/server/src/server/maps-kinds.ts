// expect-scan: error-kinds-only-at-the-edge
import { isAppError } from '../core/index.js';

export const statusOf = (e: unknown): number => (isAppError(e) ? 400 : 500);
