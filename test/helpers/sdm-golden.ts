// The SDM rule of test-roms/DEVIATIONS.md: turns a QEMU golden into what
// cr3 must print. A golden line `HEAD: RESULT (SDM: X) TAIL` (or
// `HEAD -> RESULT (SDM: X) TAIL`) marks a place where QEMU 7.2 and the SDM
// disagree: cr3 prints the SDM's X. When X is only key=value pairs whose
// keys occur in RESULT (e.g. `err=0x9`), those values are replaced in
// RESULT; otherwise X replaces RESULT. `ad=10 (A/D on a fault: SDM 4.8 leaves
// open)` becomes `ad=00`, and the paging-rights summary counts no deviations.
// Lines listed in DEVIATIONS.md's tables take the table's cr3 column.

import { readFileSync } from "node:fs";

/** The `| \`golden\` | \`cr3\` |` rows of test-roms/DEVIATIONS.md: exact replacements. */
const TABLE_ROWS = new Map<string, string>();
for (const line of readFileSync("test-roms/DEVIATIONS.md", "utf8").split("\n")) {
  const m = /^\| `(.*)` \| `(.*)` \|$/.exec(line);
  if (m !== null) TABLE_ROWS.set(m[1], m[2]);
}

const SDM_SUFFIX = / \(SDM: ([^)]*)\)/;
const AD_SUFFIX = / ad=10 \(A\/D on a fault: SDM 4\.8 leaves open\)/;

export function sdmLine(line: string): string {
  const listed = TABLE_ROWS.get(line);
  if (listed !== undefined) return listed;
  if (AD_SUFFIX.test(line)) return line.replace(AD_SUFFIX, " ad=00");
  if (/^sdm-deviations: \d+, A\/D on a fault: \d+$/.test(line)) return "sdm-deviations: 0, A/D on a fault: 0";
  const m = SDM_SUFFIX.exec(line);
  if (m === null) return line;
  const before = line.slice(0, m.index);
  const tail = line.slice(m.index + m[0].length);
  const sdm = m[1];
  const cut = Math.max(before.lastIndexOf(": ") + 2, before.lastIndexOf(" -> ") + 4);
  const head = before.slice(0, cut);
  let result = before.slice(cut);
  const pairs = sdm.split(" ").map((token) => /^([^=\s]+)=(\S+)$/.exec(token));
  const substitutable = pairs.every((p) => p !== null && new RegExp(`(^| )${escape(p[1])}=\\S+`).test(result));
  if (substitutable) {
    for (const p of pairs) result = result.replace(new RegExp(`(^| )${escape(p![1])}=\\S+`), `$1${p![1]}=${p![2]}`);
  } else {
    result = sdm;
  }
  return head + result + tail;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export function sdmGolden(output: string): string {
  return output.split("\n").map(sdmLine).join("\n");
}
