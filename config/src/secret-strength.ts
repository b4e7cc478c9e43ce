// How guessable a secret looks, judged from the value alone. Generated secrets (scripts and `secrets:generate`)
// pass by a wide margin; what fails is what people type: placeholders, words, repeated characters.

const PLACEHOLDER =
  /change[-_ ]?me|change[-_ ]?it|replace[-_ ]?me|placeholder|example|dummy|insecure|default|development|your[-_ ]|^(x+|0+|1234.*)$/i;

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

/** The JWT key signs every token: at least 32 characters. Other secrets (passwords): at least 16. */
export const MIN_SECRET_LENGTH = 32;
export const MIN_PASSWORD_LENGTH = 16;
export const MIN_SECRET_ENTROPY_BITS = 100;

/** What makes this value unfit as the secret behind `key`, or undefined when it is fit. Never quotes the value. */
export function secretWeakness(key: string, value: string): string | undefined {
  const minimum = key === 'jwt.secret' ? MIN_SECRET_LENGTH : MIN_PASSWORD_LENGTH;
  if (looksLikePlaceholder(value)) return 'looks like a placeholder or a word';
  if ([...value].length < minimum) return `is shorter than ${minimum} characters`;
  if (estimatedEntropyBits(value) < MIN_SECRET_ENTROPY_BITS) {
    return `is too predictable (under ${MIN_SECRET_ENTROPY_BITS} bits of entropy)`;
  }
  return undefined;
}
