/** The tiers a query can read (`litejoin query --tier`), apart from the code that reads them. */
export type Tier = "hot" | "warm" | "cold" | "all";
export const TIERS: readonly Tier[] = ["hot", "warm", "cold", "all"];
