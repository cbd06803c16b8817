// The one name rule for Llm names, pool names and agent-published names (DESIGN §1).
import { z } from 'zod';
import { NAME_MAX_LENGTH, NAME_PATTERN, NAME_RULE_TEXT } from './name-rule.js';

export { checkName, NAME_MAX_LENGTH, NAME_PATTERN, NAME_RULE_TEXT } from './name-rule.js';

export const nameSchema = z
  .string()
  // abort: a name that breaks both rules gets one reason, not two.
  .regex(NAME_PATTERN, { error: `invalid name: expected ${NAME_RULE_TEXT}`, abort: true })
  .max(NAME_MAX_LENGTH, { error: `invalid name: expected ${NAME_RULE_TEXT}` });
