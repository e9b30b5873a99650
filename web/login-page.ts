/**
 * The login pages (`/console/login`, `/portal/login`, the portal's with the provider's words) and
 * the pages of refusals and failures. Pure.
 */
import { type Html, html } from "./html.js";
import type { Area } from "./layout.js";

export interface LoginView {
  area: Area;
  /** Where to go after the login (a path of the console or the portal), if any. */
  next?: string | undefined;
  user?: string | undefined;
  problem?: string | undefined;
  loginText?: string | undefined;
}

/** A path the login may send the browser on to: only the console's and the portal's own pages. */
export function safeNext(next: string | null | undefined): string | undefined {
  if (next === null || next === undefined) return undefined;
  return /^\/(?:console|portal)(?:[/?][A-Za-z0-9._~!$&'()*+,;=:@/?%-]*)?$/.test(next) &&
    !next.includes("//") &&
    !next.includes("\\")
    ? next
    : undefined;
}

export function renderLogin(v: LoginView): Html {
  const action = `/${v.area}/login`;
  return html`<section class="login">
<h1>${v.area === "portal" ? "Log in to your portal" : "Log in to the console"}</h1>
${v.loginText !== undefined && v.loginText !== "" ? html`<p class="login-text">${v.loginText}</p>` : html``}
${v.problem === undefined ? html`` : html`<p class="problem" role="alert" id="login-problem">${v.problem}</p>`}
<form method="post" action="${action}">
  <label for="user">User name</label>
  <input id="user" name="user" autocomplete="username" required value="${v.user ?? ""}"${v.problem === undefined ? html`` : html` aria-describedby="login-problem"`}>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  ${v.next === undefined ? html`` : html`<input type="hidden" name="next" value="${v.next}">`}
  <button type="submit">Log in</button>
</form>
</section>`;
}

const TITLES: Readonly<Record<number, string>> = {
  400: "That request is not right",
  403: "Not for you",
  404: "Not found",
  405: "Not allowed",
  413: "Too large",
  415: "Not a form",
  429: "Too many requests",
};

/**
 * The page of a refusal. A 404 says nothing of what was asked for, so that another customer's id
 * and an unknown one get exactly the same page.
 */
/** A size for people in binary units: 1048576 → "1 MiB", 262144 → "256 KiB". */
function binarySize(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/**
 * The page of a form whose body was too large (413): the limit, and the way back to the form's
 * page (`back`, a path of this server).
 */
export function renderTooLarge(max: number, back: string): { title: string; body: Html } {
  const title = "Too large";
  return {
    title,
    body: html`<section class="error"><h1>${title}</h1><p>What this form sent is larger than ${binarySize(max)}, the most a form takes; nothing was saved. Choose a smaller file and send it again.</p><p><a href="${back}">Back to the form</a></p></section>`,
  };
}

export function renderError(status: number, message: string): { title: string; body: Html } {
  const title = TITLES[status] ?? "Something went wrong";
  const text =
    status === 404
      ? "There is no such page, or it is not yours to see."
      : status >= 500
        ? "The server could not answer; the operator finds the reason in its log."
        : message;
  return {
    title,
    body: html`<section class="error"><h1>${title}</h1><p>${text}</p><p><a href="/console">Console</a> · <a href="/portal">Portal</a></p></section>`,
  };
}
