/**
 * The portal's colours as a stylesheet named by its content (web/assets.ts brandCss), made for the
 * colours in force: a new choice on the branding page is a new name, so the year-long cache of
 * /assets/ never shows old colours. The last few are kept to answer pages already sent.
 */
import { type Asset, asset, type BrandColors, brandCss } from "../assets.js";

const KEPT = 16;

export interface BrandStylesheets {
  forColors(colors: BrandColors): Asset;
  /** A stylesheet made here, by its file name under /assets/. */
  byFile(file: string): Asset | undefined;
}

export function createBrandStylesheets(): BrandStylesheets {
  const byColors = new Map<string, Asset>();
  const byFile = new Map<string, Asset>();
  return {
    forColors(colors) {
      const key = `${colors.primary} ${colors.background} ${colors.text}`;
      let a = byColors.get(key);
      if (a === undefined) {
        a = asset("brand", "css", brandCss(colors));
        byColors.set(key, a);
        byFile.set(a.path.slice("/assets/".length), a);
        if (byColors.size > KEPT) {
          const [oldKey, old] = byColors.entries().next().value!;
          byColors.delete(oldKey);
          byFile.delete(old.path.slice("/assets/".length));
        }
      }
      return a;
    },
    byFile: (file) => byFile.get(file),
  };
}
