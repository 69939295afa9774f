import { names } from './names';
import type { Task } from './task';

/** Every task the CLI can train. */
export const TASKS: Record<string, Task> = { names };
