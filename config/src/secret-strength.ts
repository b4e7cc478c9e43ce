// How guessable a secret looks, judged from the value alone. Generated secrets (scripts and `secrets:generate`)
// pass by a wide margin; what fails is what people type: placeholders, words, repeated characters.

const PLACEHOLDER_WORDS = [
  'change[-_ ]?me',
  'change[-_ ]?it',
  'replace[-_ ]?me',
  'placeholder',
  'example',
  'dummy',
  'insecure',
  'default',
  'development',
  'your[-_ ]',
  'secret',
  'passw(or)?d',
  'production',
  'admin',
  'letmein',
];

const KEYBOARD_ROWS = ['1234567890', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm'];

/** Runs of six or more neighbouring keys or consecutive characters (abcdef, 654321, qwerty, lkjhgf). */
function hasPredictableRun(value: string): boolean {
  const lower = value.toLowerCase();
  for (const row of KEYBOARD_ROWS) {
    for (const line of [row, [...row].reverse().join('')]) {
      for (let start = 0; start + 6 <= line.length; start++)
        if (lower.includes(line.slice(start, start + 6))) return true;
    }
  }
  let run = 1;
  for (let index = 1; index < lower.length; index++) {
    const step = lower.charCodeAt(index) - lower.charCodeAt(index - 1);
    const previous = index > 1 ? lower.charCodeAt(index - 1) - lower.charCodeAt(index - 2) : step;
    run = Math.abs(step) === 1 && step === previous ? run + 1 : Math.abs(step) === 1 ? 2 : 1;
    if (run >= 6) return true;
  }
  return false;
}
const PLACEHOLDER = new RegExp(`${PLACEHOLDER_WORDS.join('|')}|^(x+|0+|1234.*)$`, 'i');

/** Shannon entropy of the value's own characters times its length: a cheap upper bound on guessing work. */
export function estimatedEntropyBits(value: string): number {
  const counts = new Map<string, number>();
  for (const character of value) counts.set(character, (counts.get(character) ?? 0) + 1);
  const length = [...value].length;
  let bitsPerCharacter = 0;
  for (const count of counts.values()) bitsPerCharacter -= (count / length) * Math.log2(count / length);
  return bitsPerCharacter * length;
}

export function looksLikePlaceholder(value: string): boolean {
  return PLACEHOLDER.test(value);
}

/** JWT keys sign every token: at least 32 characters. Other secrets (passwords): at least 16. */
export const MIN_SECRET_LENGTH = 32;
export const MIN_PASSWORD_LENGTH = 16;
export const MIN_SECRET_ENTROPY_BITS = 100;

/** What makes this value unfit as the secret behind `key`, or undefined when it is fit. Never quotes the value. */
export function secretWeakness(key: string, value: string): string | undefined {
  const minimum = key.startsWith('jwt.') ? MIN_SECRET_LENGTH : MIN_PASSWORD_LENGTH;
  if (looksLikePlaceholder(value)) return 'looks like a placeholder or a word';
  if (hasPredictableRun(value)) return 'contains a run of consecutive characters or keyboard keys';
  if ([...value].length < minimum) return `is shorter than ${minimum} characters`;
  if (estimatedEntropyBits(value) < MIN_SECRET_ENTROPY_BITS) {
    return `is too predictable (under ${MIN_SECRET_ENTROPY_BITS} bits of entropy)`;
  }
  return undefined;
}
