/** `["customers", 3, "sites", 0, "id"]` → `customers[3].sites[0].id`, the form every config error uses. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out;
}
