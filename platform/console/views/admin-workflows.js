// The workflows of the workspace: each with its trigger, active version and draft.
import { html, useEffect, useState } from "../vendor/preact-htm.js";
import { metadata } from "../api.js";
import { href, navigate } from "../router.js";
import { Empty, ErrorBanner, Loading, PageHeader, when } from "../components/ui.js";

const QUERY = "{ workflowVersions { name version status definition createdBy createdAt } }";

// versions (newest first) → one row per workflow
function byWorkflow(versions) {
  const rows = new Map();
  for (const v of versions) {
    if (!rows.has(v.name)) rows.set(v.name, { name: v.name, latest: v, active: null, draft: null, count: 0 });
    const row = rows.get(v.name);
    row.count++;
    if (v.status === "active" && !row.active) row.active = v;
    if (v.status === "draft" && !row.draft) row.draft = v;
  }
  return [...rows.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function triggerText(definition) {
  const t = (definition && definition.trigger) || {};
  return [t.type, t.object].filter(Boolean).join(" · ");
}

export default function AdminWorkflows() {
  const [rows, setRows] = useState(null);
  const [error, setError] = useState(null);
  const [filter, setFilter] = useState("");
  useEffect(() => {
    metadata(QUERY).then((d) => setRows(byWorkflow(d.workflowVersions)), setError);
  }, []);
  const header = html`<${PageHeader} title="Workflows">
    <a class="button" href=${href("/admin/runs")}>Run history</a>
    <button type="button" class="primary" onClick=${() => navigate("/admin/workflows/new")}>New workflow</button>
  </${PageHeader}>`;
  if (error) return html`${header}<${ErrorBanner} error=${error} />`;
  if (!rows) return html`${header}<${Loading} />`;
  const needle = filter.trim().toLowerCase();
  const shown = rows.filter((r) => !needle || r.name.includes(needle)
    || String((r.latest.definition || {}).label || "").toLowerCase().includes(needle)
    || triggerText(r.latest.definition).includes(needle));
  return html`${header}
    <div class="row toolbar">
      <label for="wf-filter">Find</label>
      <input id="wf-filter" type="search" value=${filter} placeholder="name, label or trigger"
        onInput=${(e) => setFilter(e.target.value)} />
      <span class="muted">${shown.length} of ${rows.length}</span>
    </div>
    ${shown.length === 0 ? html`<${Empty}>${rows.length ? "No workflow matches." : "No workflows yet. Start with “New workflow”."}</${Empty}>` : html`
    <table class="data">
      <caption class="sr-only">Workflows</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Trigger</th><th scope="col">Steps</th>
        <th scope="col">Active version</th><th scope="col">Draft</th><th scope="col">Last saved</th><th scope="col"><span class="sr-only">Links</span></th></tr></thead>
      <tbody>
        ${shown.map((r) => {
          const def = (r.draft || r.active || r.latest).definition || {};
          return html`<tr>
            <th scope="row"><a href=${href(`/admin/workflows/${encodeURIComponent(r.name)}`)}>${r.name}</a>
              ${def.label ? html`<div class="muted small">${def.label}</div>` : null}</th>
            <td>${triggerText(def)}</td>
            <td>${(def.steps || []).length}</td>
            <td>${r.active ? html`<span class="badge status-active">v${r.active.version} active</span>` : html`<span class="badge">inactive</span>`}</td>
            <td>${r.draft ? html`<span class="badge status-draft">v${r.draft.version} draft</span>` : html`<span class="muted">—</span>`}</td>
            <td>${when(r.latest.createdAt)} <span class="muted small">by ${r.latest.createdBy}</span></td>
            <td><a href=${href(`/admin/runs?workflow=${encodeURIComponent(r.name)}`)} aria-label=${`Runs of ${r.name}`}>Runs</a></td>
          </tr>`;
        })}
      </tbody>
    </table>`}`;
}
