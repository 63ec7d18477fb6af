// The variants of the apply script that `./scripts/bench apply` measures (apply-parts.ts).

/** The script without the lines that match `pattern`, which must be exactly `lines` of them. */
export function without(lua: string, pattern: RegExp, lines: number, what: string): string {
  const all = lua.split('\n');
  const kept = all.filter((line) => !pattern.test(line));
  if (all.length - kept.length !== lines) {
    throw new Error(`APPLY_LUA has ${all.length - kept.length} lines of ${what}, this benchmark expects ${lines}`);
  }
  return kept.join('\n');
}

/** The variants measured, by name; each takes one part of the apply out. */
export function applyVariants(lua: string): [string, string][] {
  const daySets = /redis\.call\('(?:ZINCRBY|EXPIREAT)', KEYS\[1[23]\]/;
  return [
    ['the whole apply script', lua],
    ['without the 3 EXPIREATs', without(lua, /redis\.call\('EXPIREAT'/, 3, 'EXPIREAT')],
    [
      'without the 6 top-N ZINCRBYs (and the day sets’ 2 EXPIREATs)',
      without(lua, /redis\.call\('ZINCRBY'|redis\.call\('EXPIREAT', KEYS\[1[23]\]/, 8, 'top-N'),
    ],
    ['without the day-level top-N sets (2 ZINCRBYs, 2 EXPIREATs)', without(lua, daySets, 4, 'day-level top-N')],
    ['only the applied-mark (SADD)', "if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end return 1"],
  ];
}
