/**
 * Tumbling windows: back-to-back windows of `size`, aligned to the Unix epoch; each
 * event belongs to exactly one. They are sliding windows whose slide is their size.
 */
import { SlidingWindows } from "./sliding.ts";

export class TumblingWindows extends SlidingWindows {
  constructor(size: number, grace: number) {
    super(size, size, grace);
  }
}
