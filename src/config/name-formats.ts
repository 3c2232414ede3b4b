// The name formats of the Gateway API CRDs that a file loader must check itself.
// - SectionName: how listeners and route rules are named, and how parentRefs and policy
//   targetRefs point at one of them, so a name outside the format could never be referred
//   to from a cluster's resources.
// - HTTPHeaderName and HTTPQueryParamName: an RFC 9110 token, as a header name on the wire.
// - A header value the gateway writes: RFC 9110 field-value characters, which are all that
//   node and undici will send; a CR or LF would split the message.
const SECTION_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HTTP_TOKEN = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export const SECTION_NAME_HINT = "use lower-case letters, digits and '-', starting and ending with a letter or digit (a Gateway API SectionName)";
export const HTTP_TOKEN_HINT = "use letters, digits and !#$%&'*+-.^_`|~ only (an RFC 9110 token)";

export const FIELD_VALUE_HINT = "use visible characters, spaces and tabs only: no CR, LF, NUL or other control character, and nothing outside Latin-1";

export function isSectionName(name: string): boolean {
  return name.length <= 253 && SECTION_NAME.test(name);
}

export function isHttpToken(name: string): boolean {
  return HTTP_TOKEN.test(name);
}

export function isFieldValue(value: string): boolean {
  return FIELD_VALUE.test(value);
}
