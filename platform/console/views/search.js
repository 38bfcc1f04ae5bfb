// Search every object's records: #/search?q=acme. Each object is searched by its title
// field (and its email fields) with the filter language's case-insensitive `contains`.
import { html, useEffect, useState } from "../vendor/preact-htm.js";
import { records } from "../api.js";
import { href } from "../router.js";
import { Empty, ErrorBanner, Loading, PageHeader } from "../components/ui.js";
import { gqlNames, loadObjects, recordTitle, titleFields } from "../components/record-fields.js";

const PER_OBJECT = 10;

function searchFields(object) {
  const titles = titleFields(object);
  const extra = object.fields.filter((f) => f.type === "email" && !titles.includes(f));
  return [...titles, ...extra].slice(0, 4);
}

async function searchObject(object, text) {
  const fields = searchFields(object);
  if (!fields.length) return null;
  const names = gqlNames(object);
  const conditions = fields.map((f) => ({ [f.apiName]: { contains: text } }));
  const filter = conditions.length > 1 ? { or: conditions } : conditions[0];
  const shown = [...new Set([...titleFields(object), ...fields].map((f) => f.apiName))];
  const data = await records(
    `query($filter: ${names.filter}) { ${names.plural}(filter: $filter, first: ${PER_OBJECT}, orderBy: [{updated_at: DESC}]) {
      totalCount edges { node { id ${shown.join(" ")} } } } }`,
    { filter },
  );
  return { fields, connection: data[names.plural] };
}

export default function Search({ query }) {
  const q = (query.q || "").trim();
  const [objects, setObjects] = useState(null);
  const [results, setResults] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    loadObjects(true).then(setObjects, setError);
  }, []);

  useEffect(() => {
    if (!objects || !q) {
      setResults(null);
      return;
    }
    let live = true;
    setResults(null);
    Promise.allSettled(objects.list.map((o) => searchObject(o, q))).then((settled) => {
      if (!live) return;
      setResults(settled.map((s, i) => ({
        object: objects.list[i],
        value: s.status === "fulfilled" ? s.value : null,
        error: s.status === "rejected" ? s.reason : null,
      })));
    });
    return () => (live = false);
  }, [objects, q]);

  const found = results ? results.filter((r) => r.error || (r.value && r.value.connection.totalCount > 0)) : [];
  const total = results ? results.reduce((n, r) => n + (r.value ? r.value.connection.totalCount : 0), 0) : 0;

  return html`<div class="search-page">
    <${PageHeader} title=${q ? `Search: “${q}”` : "Search"} />
    <${ErrorBanner} error=${error} />
    ${!q
      ? html`<${Empty}>Type a name, a title or an email address in the search box above to search every object.<//>`
      : !results
        ? html`<${Loading} label="Searching…" />`
        : html`<p class="muted" role="status">${total === 0 ? "No records match." : `${total} record${total === 1 ? "" : "s"} found.`}</p>
          ${found.map(({ object, value, error: failure }) => html`<section class="panel search-group" key=${object.apiName}
              aria-labelledby=${`search-${object.apiName}`}>
            <h2 id=${`search-${object.apiName}`}>
              <a href=${href(`/records/${object.apiName}`)}>${object.labelPlural}</a>
              ${value ? html` <span class="badge">${value.connection.totalCount}</span>` : null}
            </h2>
            ${failure ? html`<${ErrorBanner} error=${failure} />` : null}
            ${value
              ? html`<ul class="search-results">
                  ${value.connection.edges.map(({ node }) => html`<li key=${node.id}>
                    <a href=${href(`/records/${object.apiName}/${node.id}`)}>${recordTitle(object, node)}</a>
                    ${value.fields.filter((f) => f.type === "email" && node[f.apiName]).map((f) => html` <span class="muted">${node[f.apiName]}</span>`)}
                  </li>`)}
                </ul>
                ${value.connection.totalCount > value.connection.edges.length
                  ? html`<a href=${href(`/records/${object.apiName}?filter=${encodeURIComponent(JSON.stringify(
                      value.fields.length > 1
                        ? { or: value.fields.map((f) => ({ [f.apiName]: { contains: q } })) }
                        : { [value.fields[0].apiName]: { contains: q } },
                    ))}`)}>All ${value.connection.totalCount} ${object.labelPlural.toLowerCase()}</a>`
                  : null}`
              : null}
          </section>`)}`}
  </div>`;
}
