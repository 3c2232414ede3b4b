// kgateway's StringMatcher as a predicate, compiled once per plan: ignoreCase lower-cases both
// sides (exact, prefix, suffix, contains); safeRegex is a full match, case as written, as in Envoy.
import type { StringMatcherModel } from "../config/model.ts";
import { fullMatchRegExp } from "../router/regex.ts";

export type StringMatch = (input: string) => boolean;

export function compileStringMatcher(m: StringMatcherModel): StringMatch {
  if (m.kind === "safeRegex") {
    const pattern = fullMatchRegExp(m.value);
    return (input) => pattern.test(input);
  }
  const expected = m.ignoreCase ? m.value.toLowerCase() : m.value;
  const fold = m.ignoreCase ? (input: string): string => input.toLowerCase() : (input: string): string => input;
  switch (m.kind) {
    case "exact":
      return (input) => fold(input) === expected;
    case "prefix":
      return (input) => fold(input).startsWith(expected);
    case "suffix":
      return (input) => fold(input).endsWith(expected);
    case "contains":
      return (input) => fold(input).includes(expected);
  }
}
