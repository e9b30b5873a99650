/**
 * The portal-branding page (admins): title, footer, login text and colours saved over the
 * config's `portal.branding`, and the logo uploaded (PNG, JPEG, WebP or SVG), removed, or the
 * config's again. Each field says whether the config's value or a saved one is in force. Pure.
 */
import { type Html, html } from "../html.js";
import type { Viewer } from "../layout.js";
import { adminNav, csrfField, field, notice } from "./form-fields.js";
import {
  type ConfigPortal,
  configValue,
  type FieldProblems,
  MAX_LOGO_BYTES,
  type PortalSettings,
  type TextSetting,
} from "./portal-settings.js";

const LABELS: Readonly<Record<TextSetting, string>> = {
  title: "Title",
  footer: "Footer",
  loginText: "Login text",
  primary: "Header and buttons colour",
  background: "Page background colour",
  text: "Text colour",
};

export function renderBranding(v: {
  viewer: Viewer | undefined;
  config: ConfigPortal;
  settings: PortalSettings;
  values?: Partial<Record<string, string>> | undefined;
  problems: FieldProblems;
  done?: string | undefined;
}): Html {
  const s = v.settings;
  const current: Record<TextSetting, string> = {
    title: s.title,
    footer: s.footer,
    loginText: s.loginText,
    ...s.colors,
  };
  const csrf = csrfField(v.viewer);
  const input = (name: TextSetting, type: "text" | "color", multiline = false) => {
    const config = configValue(v.config, name);
    return field({
      id: `brand-${name}`,
      name,
      label: LABELS[name],
      value: v.values?.[name] ?? current[name],
      type,
      multiline,
      problem: v.problems[name],
      hint: s.saved.has(name)
        ? `Saved here; the config's: ${config === "" ? "(empty)" : config}`
        : "The config's",
    });
  };
  const logo = s.logo;
  return html`<h1>Portal branding</h1>
${adminNav("/console/admin/branding")}
${notice(v.done)}
<p>The portal's login page and pages show these; the config's <code>portal.branding</code> is the default and what is saved here overrides it, key by key, in every process within seconds. <a href="/portal/login">Open the portal's login page</a></p>
<section class="admin-form" aria-labelledby="brand-texts"><h2 id="brand-texts">Words and colours</h2>
<form method="post" action="/console/admin/branding">${csrf}
${input("title", "text")}
${input("footer", "text", true)}
${input("loginText", "text", true)}
<div class="colours">${input("primary", "color")}${input("background", "color")}${input("text", "color")}</div>
<div class="actions"><button type="submit" name="action" value="save">Save</button><button type="submit" name="action" value="reset" class="secondary">Use the config's words and colours</button></div>
</form></section>
<section class="admin-form" aria-labelledby="brand-logo"><h2 id="brand-logo">Logo</h2>
${logo === undefined ? html`<p class="muted">No logo.</p>` : html`<p><img class="logo-preview" src="/assets/${logo.file}" alt="The logo in force"> <span class="muted">${logo.contentType}, ${logo.bytes.toLocaleString("en-US")} bytes${s.saved.has("logo") ? ", saved here" : ", the config's"}</span></p>`}
<form method="post" action="/console/admin/branding/logo" enctype="multipart/form-data">${csrf}
<div class="field"><label for="brand-logo-file">A new logo</label><input id="brand-logo-file" name="logo" type="file" accept="image/png,image/jpeg,image/webp,image/svg+xml" data-max-bytes="${MAX_LOGO_BYTES}" data-problem="brand-logo-problem" required aria-describedby="brand-logo-hint${v.problems.logo === undefined ? "" : " brand-logo-problem"}"${v.problems.logo === undefined ? html`` : html` aria-invalid="true"`}><span class="hint" id="brand-logo-hint">PNG, JPEG, WebP or SVG, at most ${MAX_LOGO_BYTES / 1024} KiB</span>${v.problems.logo === undefined ? html`` : html`<span class="problem" id="brand-logo-problem">${v.problems.logo}</span>`}</div>
<div class="actions"><button type="submit">Upload</button></div></form>
<form method="post" action="/console/admin/branding">${csrf}
<div class="actions"><button type="submit" name="action" value="logo-none" class="secondary">No logo</button><button type="submit" name="action" value="logo-config" class="secondary">Use the config's logo</button></div></form>
</section>`;
}
