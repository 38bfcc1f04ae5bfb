// The object manager's list: every object of the workspace, with a way to each one's editor.
import { html, useEffect, useState } from "../vendor/preact-htm.js";
import { metadata } from "../api.js";
import { href } from "../router.js";
import { Empty, ErrorBanner, Loading, PageHeader } from "../components/ui.js";

const QUERY = `{ workspace { metadataVersion }
  objects { apiName pluralApiName labelSingular labelPlural description fields { apiName } validationRules } }`;

export default function AdminObjects() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [filter, setFilter] = useState("");
  useEffect(() => {
    metadata(QUERY).then(setData, setError);
  }, []);
  if (error) return html`<${PageHeader} title="Data model" /><${ErrorBanner} error=${error} />`;
  if (!data) return html`<${Loading} />`;
  const needle = filter.trim().toLowerCase();
  const objects = data.objects.filter((o) => !needle
    || [o.apiName, o.labelSingular, o.labelPlural, o.description].some((s) => (s || "").toLowerCase().includes(needle)));
  return html`
    <${PageHeader} title="Data model">
      <a class="button primary" href=${href("/admin/objects/new")}>New object</a>
    <//>
    <p class="muted">${data.objects.length} object(s) · metadata version ${data.workspace.metadataVersion}</p>
    <div class="field inline-filter">
      <label for="objects-filter">Filter objects</label>
      <input id="objects-filter" type="search" value=${filter} onInput=${(e) => setFilter(e.target.value)} />
    </div>
    ${objects.length === 0
      ? html`<${Empty}>${data.objects.length ? "No object matches." : "No objects yet: create the first one."}<//>`
      : html`
        <table class="objects-table">
          <caption class="visually-hidden">Objects</caption>
          <thead><tr>
            <th scope="col">Label</th><th scope="col">API name</th><th scope="col">Fields</th>
            <th scope="col">Rules</th><th scope="col">Description</th>
          </tr></thead>
          <tbody>
            ${objects.map((o) => html`
              <tr key=${o.apiName}>
                <th scope="row"><a href=${href(`/admin/objects/${encodeURIComponent(o.apiName)}`)}>${o.labelSingular}</a>
                  <div class="muted small">${o.labelPlural}</div></th>
                <td><code>${o.apiName}</code></td>
                <td>${o.fields.length}</td>
                <td>${(o.validationRules || []).length}</td>
                <td class="description">${o.description}</td>
              </tr>`)}
          </tbody>
        </table>`}`;
}
