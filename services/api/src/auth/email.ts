// One definition of an acceptable email address, used by the login schema and by create-user alike, so no account
// can be created that login would refuse. ASCII only: an internationalised domain is entered in its punycode form
// (xn--...), and a non-ASCII local part is refused.

export const EMAIL_MAX_LENGTH = 254;

/** The JSON-schema `pattern`: a dot-atom local part, then a domain of LDH labels with at least one dot. */
export const EMAIL_PATTERN =
  "^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*" +
  '@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$';

const EMAIL = new RegExp(EMAIL_PATTERN);

export function isEmail(value: string): boolean {
  return value.length <= EMAIL_MAX_LENGTH && EMAIL.test(value);
}
