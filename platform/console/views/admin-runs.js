// Workflow runs: the recent ones (filter by workflow and status), and one run's page with
// every attempt of every step (input, output, error), retry from the failed step, cancel.
import { html, useEffect, useState } from "../vendor/preact-htm.js";
import { metadata } from "../api.js";
import { href, navigate } from "../router.js";
import { Dialog, Empty, ErrorBanner, Loading, PageHeader, when } from "../components/ui.js";

const STATUSES = ["queued", "running", "waiting", "succeeded", "failed", "cancelled"];
const FIELDS = "id workflow version status trigger recordId eventId error createdAt finishedAt wakeAt";
const LIST = `query($filter: WorkflowRunFilter, $limit: Int!) { workflowRuns(filter: $filter, limit: $limit) { ${FIELDS} } }`;
const ONE = `query($id: UUID!) { workflowRun(id: $id) { ${FIELDS} steps } }`;
const UNFINISHED = ["queued", "running", "waiting"];

function Status({ status }) {
  return html`<span class=${`badge status-${status}`}>${status}</span>`;
}

// workflow name → the object its trigger is on (to link a run's record)
function useWorkflowObjects() {
  const [map, setMap] = useState({});
  useEffect(() => {
    metadata("{ workflowVersions { name status definition } }").then((d) => {
      const out = {};
      for (const v of d.workflowVersions) {
        if (!(v.name in out) || v.status === "active") out[v.name] = ((v.definition || {}).trigger || {}).object || null;
      }
      setMap(out);
    }, () => setMap({}));
  }, []);
  return map;
}

function RecordLink({ object, id }) {
  if (!id) return html`<span class="muted">—</span>`;
  const short = id.slice(0, 8) + "…";
  return object
    ? html`<a href=${href(`/records/${object}/${id}`)} title=${id} aria-label=${`${object} record ${id}`}>${object} ${short}</a>`
    : html`<code title=${id}>${short}</code>`;
}

function RunList({ query }) {
  const objects = useWorkflowObjects();
  const [workflow, setWorkflow] = useState(query.workflow || "");
  const [status, setStatus] = useState(query.status || "");
  const [limit, setLimit] = useState(50);
  const [runs, setRuns] = useState(null);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const filter = {};
    if (workflow) filter.workflow = workflow;
    if (status) filter.status = [status];
    metadata(LIST, { filter, limit }).then((d) => { setRuns(d.workflowRuns); setError(null); }, setError);
  }, [workflow, status, limit, tick]);
  // keep the list fresh while runs are unfinished
  useEffect(() => {
    if (!runs || !runs.some((r) => UNFINISHED.includes(r.status))) return undefined;
    const timer = setTimeout(() => setTick((t) => t + 1), 3000);
    return () => clearTimeout(timer);
  }, [runs]);
  const names = Object.keys(objects).sort();
  const syncUrl = (w, s) => {
    const params = new URLSearchParams();
    if (w) params.set("workflow", w);
    if (s) params.set("status", s);
    const text = params.toString();
    history.replaceState(null, "", `#/admin/runs${text ? "?" + text : ""}`);
  };
  return html`
    <${PageHeader} title="Workflow runs">
      <button type="button" onClick=${() => setTick((t) => t + 1)}>Refresh</button>
      <a class="button" href=${href("/admin/workflows")}>Workflows</a>
    </${PageHeader}>
    <div class="filters" role="search" aria-label="Filter runs">
      <div class="field">
        <label for="runs-workflow">Workflow</label>
        <select id="runs-workflow" value=${workflow} onChange=${(e) => { setWorkflow(e.target.value); syncUrl(e.target.value, status); }}>
          <option value="">All workflows</option>
          ${names.map((n) => html`<option value=${n}>${n}</option>`)}
          ${workflow && !names.includes(workflow) ? html`<option value=${workflow}>${workflow}</option>` : null}
        </select>
      </div>
      <div class="field">
        <label for="runs-status">Status</label>
        <select id="runs-status" value=${status} onChange=${(e) => { setStatus(e.target.value); syncUrl(workflow, e.target.value); }}>
          <option value="">Any status</option>
          ${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      </div>
    </div>
    <${ErrorBanner} error=${error} />
    ${!runs ? html`<${Loading} />` : runs.length === 0 ? html`<${Empty}>No runs${workflow || status ? " match" : " yet"}.</${Empty}>` : html`
      <table class="data">
        <caption class="sr-only">Workflow runs, newest first</caption>
        <thead><tr><th scope="col">Started</th><th scope="col">Workflow</th><th scope="col">Status</th>
          <th scope="col">Trigger</th><th scope="col">Record</th><th scope="col">Finished</th><th scope="col">Error</th></tr></thead>
        <tbody>${runs.map((r) => html`<tr>
          <td><a href=${href(`/admin/runs/${r.id}`)} aria-label=${`Run of ${r.workflow} started ${when(r.createdAt)}`}>${when(r.createdAt)}</a></td>
          <td>${r.workflow} <span class="muted small">v${r.version}</span></td>
          <td><${Status} status=${r.status} />${r.status === "waiting" && r.wakeAt ? html`<div class="muted small">until ${when(r.wakeAt)}</div>` : null}</td>
          <td>${r.trigger}</td>
          <td><${RecordLink} object=${objects[r.workflow]} id=${r.recordId} /></td>
          <td>${when(r.finishedAt)}</td>
          <td class="small">${r.error || ""}</td>
        </tr>`)}</tbody>
      </table>
      ${runs.length >= limit ? html`<p><button type="button" onClick=${() => setLimit(limit + 50)}>Show more</button></p>` : null}`}`;
}

function Json({ value, label }) {
  if (value === undefined || value === null) return html`<p class="muted">—</p>`;
  return html`<pre tabindex="0" aria-label=${label}>${JSON.stringify(value, null, 2)}</pre>`;
}

function StepAttempt({ step }) {
  const took = step.started_at && step.finished_at ? new Date(step.finished_at) - new Date(step.started_at) : null;
  const label = `${step.key || step.id} attempt ${step.attempt || 1}`;
  return html`<section class=${`panel run-step ${step.status || ""}`} aria-label=${`Step ${label}`}>
    <h3><code>${step.key || step.id}</code> <span class="muted">${step.type}</span> <${Status} status=${step.status} />
      ${step.attempt > 1 ? html` <span class="badge">attempt ${step.attempt}</span>` : null}</h3>
    <p class="muted small">${when(step.started_at)}${took !== null ? ` · ${took} ms` : ""}${step.retry_at ? ` · next attempt ${when(step.retry_at)}` : ""}</p>
    <div class="io-grid">
      <div><h4>Input</h4><${Json} value=${step.input} label=${`Input of ${label}`} /></div>
      ${step.output !== undefined && step.output !== null || !step.error ? html`<div><h4>Output</h4><${Json} value=${step.output} label=${`Output of ${label}`} /></div>` : null}
      ${step.error !== undefined && step.error !== null ? html`<div><h4>Error</h4><${Json} value=${step.error} label=${`Error of ${label}`} /></div>` : null}
    </div>
  </section>`;
}

function RunPage({ id }) {
  const [run, setRun] = useState(null);
  const [error, setError] = useState(null);
  const [actionError, setActionError] = useState(null);
  const [message, setMessage] = useState(null);
  const [busy, setBusy] = useState(false);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [tick, setTick] = useState(0);
  const objects = useWorkflowObjects();
  useEffect(() => {
    metadata(ONE, { id }).then((d) => { setRun(d.workflowRun); setError(null); }, setError);
  }, [id, tick]);
  useEffect(() => {
    if (!run || !UNFINISHED.includes(run.status)) return undefined;
    const timer = setTimeout(() => setTick((t) => t + 1), 2000);
    return () => clearTimeout(timer);
  }, [run]);
  if (error && !run) return html`<${PageHeader} title="Workflow run"><a class="button" href=${href("/admin/runs")}>All runs</a></${PageHeader}><${ErrorBanner} error=${error} />`;
  if (!run) return html`<${Loading} />`;
  const act = async (what, done) => {
    setBusy(true); setActionError(null); setMessage(null);
    try {
      await what();
      setMessage(done);
      setTick((t) => t + 1);
    } catch (failure) { setActionError(failure); } finally { setBusy(false); }
  };
  const retry = () => act(() => metadata("mutation($id: UUID!) { retryWorkflowRun(id: $id) { id status } }", { id }),
    "Queued again: the failed step runs again, the finished ones are kept.");
  const cancel = () => { setConfirmCancel(false); act(() => metadata("mutation($id: UUID!) { cancelWorkflowRun(id: $id) { id status } }", { id }), "Run cancelled."); };
  const steps = Array.isArray(run.steps) ? run.steps : [];
  return html`
    <${PageHeader} title=${`Run of ${run.workflow}`}>
      ${run.status === "failed" ? html`<button type="button" class="primary" disabled=${busy} onClick=${retry}>Retry from failed step</button>` : null}
      ${["waiting", "queued"].includes(run.status) ? html`<button type="button" class="danger" disabled=${busy} onClick=${() => setConfirmCancel(true)}>Cancel run</button>` : null}
      <button type="button" onClick=${() => setTick((t) => t + 1)}>Refresh</button>
      <a class="button" href=${href(`/admin/runs?workflow=${encodeURIComponent(run.workflow)}`)}>All runs of ${run.workflow}</a>
    </${PageHeader}>
    <div aria-live="polite">
      ${message ? html`<p class="ok-banner" role="status">${message}</p>` : null}
      <${ErrorBanner} error=${actionError} />
    </div>
    <dl class="kv panel">
      <dt>Status</dt><dd><${Status} status=${run.status} /></dd>
      <dt>Workflow</dt><dd><a href=${href(`/admin/workflows/${encodeURIComponent(run.workflow)}`)}>${run.workflow}</a> (version ${run.version})</dd>
      <dt>Trigger</dt><dd>${run.trigger}</dd>
      <dt>Record</dt><dd><${RecordLink} object=${objects[run.workflow]} id=${run.recordId} /></dd>
      <dt>Started</dt><dd>${when(run.createdAt)}</dd>
      <dt>Finished</dt><dd>${when(run.finishedAt) || "—"}</dd>
      ${run.wakeAt ? html`<dt>Goes on at</dt><dd>${when(run.wakeAt)}</dd>` : null}
      ${run.error ? html`<dt>Error</dt><dd class="field-error">${run.error}</dd>` : null}
      <dt>Run id</dt><dd><code>${run.id}</code></dd>
    </dl>
    <h2>Steps (${steps.length} attempt${steps.length === 1 ? "" : "s"})</h2>
    ${steps.length === 0 ? html`<${Empty}>No step has run yet.</${Empty}>` : steps.map((s, i) => html`<${StepAttempt} key=${i} step=${s} />`)}
    <${Dialog} open=${confirmCancel} title="Cancel this run?" onClose=${() => setConfirmCancel(false)}>
      <p>The run stops; its finished steps stay done. This cannot be undone.</p>
      <div class="dialog-actions">
        <button type="button" onClick=${() => setConfirmCancel(false)}>Keep it running</button>
        <button type="button" class="danger" onClick=${cancel}>Cancel the run</button>
      </div>
    </${Dialog}>`;
}

export default function AdminRuns({ params, query }) {
  if (params.id) return html`<${RunPage} id=${params.id} />`;
  return html`<${RunList} query=${query || {}} />`;
}
