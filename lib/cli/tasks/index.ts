import { digits } from './digits';
import { forecast } from './forecast';
import { g2p } from './g2p';
import { mnist } from './mnist';
import { names } from './names';
import { spam } from './spam';
import { text } from './text';
import type { Task } from './task';

/** Every task the CLI can train. */
export const TASKS: Record<string, Task> = { names, text, mnist, g2p, forecast, spam, digits };
