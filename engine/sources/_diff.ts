/** How the API source tells whether an item changed, and which of its fields did. */
import { hashString } from "../hash.ts";

/**
 * JSON with object keys sorted at every depth, so that two values that differ only in
 * key order read the same. Array order is kept: it is part of the value.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value).sort();
  const parts: string[] = [];
  for (const key of keys) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(",")}}`;
}

/** A 53-bit hash of an item's canonical JSON: equal items hash equal whatever their key order. */
export function itemHash(item: Record<string, unknown>): number {
  return hashString(canonicalJson(item));
}

/** The top-level fields whose values differ (added, removed or changed), sorted by name. */
export function changedFields(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): string[] {
  const fields: string[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (canonicalJson(before[key]) !== canonicalJson(after[key])) fields.push(key);
  }
  return fields.sort();
}
