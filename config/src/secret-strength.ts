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
