// Pieces more than one page shows.
import { h } from "./dom.js";

/** Recordings uploaded from this tab (object URLs), playable in review without downloading them again. */
export const localRecordings = new Map<string, string>();

/** A label not by colour alone: a shape (circle OEQ, diamond CEQ) and words. */
export function badge(label: "OEQ" | "CEQ"): HTMLElement {
  return h("span", { class: `badge ${label.toLowerCase()}` }, h("span", { "aria-hidden": "true", class: "shape" }),
    label === "OEQ" ? "OEQ (open)" : "CEQ (closed)");
}
