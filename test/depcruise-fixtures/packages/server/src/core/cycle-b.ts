// Second half of the cycle: depcruise reports the cycle once, from cycle-a.
import { a } from './cycle-a.js';
export const b = (): number => a() - 1;
