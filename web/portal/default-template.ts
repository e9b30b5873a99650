/**
 * The built-in portal page, written in the template language of the provider's templates
 * (template.ts), so that the built-in page and a provider's place the same pieces the same way.
 * docs/portal.md shows it as the starting point of a template.
 */
export const DEFAULT_TEMPLATE = `<h1>{{customer.name}}</h1>
{{motd}}
<section aria-label="Totals"><h2>Totals (UTC)</h2>
{{totals}}</section>
{{periods}}
<section aria-label="Your links"><h2>Your links, {{period.name}} ({{period.label}})</h2>
{{links}}</section>
<section aria-label="Top classes"><h2>Top classes, {{period.name}}</h2>
{{classes}}</section>
<section aria-label="SLA status"><h2>Service levels</h2>
{{sla}}</section>
<section aria-label="Throughput"><h2>Throughput of your links</h2>
{{graph.throughput}}
{{graph.links}}</section>
<section aria-label="Response times"><h2>Response times</h2>
{{graph.response}}</section>
<section aria-label="Downloads"><h2>Download your data</h2>
{{csv}}</section>
`;
