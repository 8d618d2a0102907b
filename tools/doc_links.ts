/**
 * A link check for the Markdown docs: every relative link must name a file that exists,
 * and every `#anchor` a heading of the page it points into (anchors as GitHub makes them).
 * Links inside code (fenced blocks, `inline`) are not links.
 */
import { dirname, join, normalize } from "node:path";

/** A broken link: the file it is in, its line, the target, and what is wrong. */
export interface BrokenLink {
  file: string;
  line: number;
  target: string;
  problem: string;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\- _]/gu, "").replaceAll(" ", "-");
}

/** The anchors of a page's headings, duplicates numbered `-1`, `-2` as GitHub does. */
export function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { text } of lines(markdown)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (!m) continue;
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The links of a page outside code, with their line numbers. */
export function linksOf(markdown: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  for (const { text, line } of lines(markdown)) {
    const prose = text.replace(/(`+)[^`]*?\1/g, "");
    for (const m of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      out.push({ line, target: m[1] });
    }
  }
  return out;
}

/** Lines outside fenced code blocks. */
function* lines(markdown: string): Generator<{ text: string; line: number }> {
  let fence: string | null = null;
  const all = markdown.split("\n");
  for (let i = 0; i < all.length; i++) {
    const text = all[i];
    const marker = /^\s*(```+|~~~+)/.exec(text)?.[1];
    if (marker) {
      if (fence === null) fence = marker[0];
      else if (marker[0] === fence) fence = null;
      continue;
    }
    if (fence === null) yield { text, line: i + 1 };
  }
}

/**
 * Checks the links of `files` (paths relative to `root`). `read` returns a file's text,
 * or undefined when there is no such file; `exists` says whether a path (file or
 * directory) exists.
 */
export function checkLinks(
  root: string,
  files: string[],
  read: (path: string) => string | undefined,
  exists: (path: string) => boolean,
): BrokenLink[] {
  const broken: BrokenLink[] = [];
  for (const file of files) {
    const text = read(join(root, file));
    if (text === undefined) {
      broken.push({ file, line: 0, target: file, problem: "file not found" });
      continue;
    }
    for (const { line, target } of linksOf(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
      const hash = target.indexOf("#");
      const path = hash < 0 ? target : target.slice(0, hash);
      const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
      const resolved = path ? normalize(join(root, dirname(file), path)) : join(root, file);
      if (path && !exists(resolved)) {
        broken.push({ file, line, target, problem: "no such file" });
        continue;
      }
      if (anchor === undefined || anchor === "") continue;
      const page = resolved.endsWith(".md") ? read(resolved) : undefined;
      if (page === undefined) {
        broken.push({ file, line, target, problem: "an anchor into a file that is not Markdown" });
      } else if (!anchorsOf(page).has(anchor)) {
        broken.push({ file, line, target, problem: `no heading with anchor #${anchor}` });
      }
    }
  }
  return broken;
}
