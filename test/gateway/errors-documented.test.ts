// Every gateway error code is in docs/gateway.md's table, with its status and type (users' scripts
// and OpenAI clients match on them).
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { expect, test } from 'vitest';
import { GATEWAY_ERRORS } from '../../gateway/errors.js';

test('docs/gateway.md lists every error code with its status and type', async () => {
  const text = await readFile(resolve(import.meta.dirname, '../../docs/gateway.md'), 'utf8');
  const rows = new Set(text.split('\n').filter((line) => line.startsWith('| ')).map((line) => line.replace(/\s+/g, ' ')));
  const missing = Object.entries(GATEWAY_ERRORS)
    .filter(([code, { status, type }]) => ![...rows].some((row) => row.startsWith(`| ${status} | \`${code}\` | \`${type}\` |`)))
    .map(([code]) => code);
  expect(missing).toEqual([]);
});
