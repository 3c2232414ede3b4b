// Gateway API SectionName: how listeners and route rules are named, and how parentRefs and
// policy targetRefs point at one of them, so a name outside the format could never be
// referred to from a cluster's resources.
const SECTION_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const SECTION_NAME_HINT = "use lower-case letters, digits and '-', starting and ending with a letter or digit (a Gateway API SectionName)";

export function isSectionName(name: string): boolean {
  return name.length <= 253 && SECTION_NAME.test(name);
}
