// The workflow builder: a workflow document (name, trigger, conditions, steps) built with
// forms generated from the workflow JSON Schema; validate, save as the draft, activate.
import { html, useEffect, useMemo, useState } from "../vendor/preact-htm.js";
import { metadata } from "../api.js";
import { href, navigate } from "../router.js";
import { ErrorBanner, Loading, PageHeader, when } from "../components/ui.js";
import SchemaForm, { ProblemText, humanize, pathText, problemsUnder } from "../components/schema-form.js";
import {
  CONDITION_TRIGGERS, FilterInput, RECORD_TRIGGERS, StepsEditor, TRIGGER_TYPES, WORKFLOW_SCHEMA,
} from "../components/workflow-steps.js";

const OBJECTS = "{ objects { apiName labelSingular labelPlural fields { apiName label type options required } } }";
const VERSIONS = `query($name: String) { workflowVersions(name: $name) { name version status definition createdBy createdAt } }`;
const NAME_PATTERN = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

// Remove what is empty (undefined, "" and {} / [] where the schema does not need them).
function clean(doc) {
  const out = { ...doc };
  for (const key of ["label", "description"]) if (!out[key]) delete out[key];
  const trigger = { ...(out.trigger || {}) };
  for (const [k, v] of Object.entries(trigger)) {
    if (v === undefined || v === "" || (Array.isArray(v) && !v.length && k === "fields")
      || (v && typeof v === "object" && !Array.isArray(v) && !Object.keys(v).length)) delete trigger[k];
  }
  out.trigger = trigger;
  if (out.settings && !Object.keys(out.settings).length) delete out.settings;
  return out;
}

function Problems({ problems }) {
  if (!problems || !problems.length) return null;
  return html`<section class="panel problems" aria-labelledby="problems-title">
    <h2 id="problems-title">Problems (${problems.length})</h2>
    <ul>${problems.map((p) => html`<li><code>${pathText(p.inputPath) || "(document)"}</code>: ${p.message}
      ${p.code ? html` <span class="badge">${p.code}</span>` : null}</li>`)}</ul>
  </section>`;
}

function TriggerEditor({ trigger, onChange, objects, problems }) {
  const set = (key, value) => {
    const next = { ...trigger };
    if (value === undefined || value === "") delete next[key];
    else next[key] = value;
    onChange(next);
  };
  const setType = (type) => {
    const next = { type };
    if (RECORD_TRIGGERS.includes(type) && trigger.object) next.object = trigger.object;
    if (CONDITION_TRIGGERS.includes(type) && trigger.condition) next.condition = trigger.condition;
    onChange(next);
  };
  const object = objects.find((o) => o.apiName === trigger.object);
  const fields = object ? object.fields : [];
  const dateFields = fields.filter((f) => f.type === "date" || f.type === "datetime");
  const at = (key) => problemsUnder(problems, [key]);
  const fieldClass = (key) => "field" + (at(key).length ? " invalid" : "");
  const offsetSchema = WORKFLOW_SCHEMA.$defs.trigger.properties.offset;
  const chosen = new Set(trigger.fields || []);
  return html`<section class="panel" aria-labelledby="trigger-title">
    <h2 id="trigger-title">When</h2>
    <div class="grid-2">
      <div class=${fieldClass("type")}>
        <label for="wf-trigger">Trigger</label>
        <select id="wf-trigger" value=${trigger.type || ""} onChange=${(e) => setType(e.target.value)}>
          <option value="">— choose —</option>
          ${TRIGGER_TYPES.map((t) => html`<option value=${t}>${humanize(t)} (${t})</option>`)}
        </select>
        <${ProblemText} problems=${at("type")} />
      </div>
      ${RECORD_TRIGGERS.includes(trigger.type) ? html`<div class=${fieldClass("object")}>
        <label for="wf-object">Object</label>
        <select id="wf-object" value=${trigger.object || ""}
          onChange=${(e) => onChange({ ...trigger, object: e.target.value || undefined, fields: undefined, date_field: undefined })}>
          <option value="">— choose —</option>
          ${objects.map((o) => html`<option value=${o.apiName}>${o.labelSingular} (${o.apiName})</option>`)}
          ${trigger.object && !object ? html`<option value=${trigger.object}>${trigger.object}</option>` : null}
        </select>
        <${ProblemText} problems=${at("object")} />
      </div>` : null}
    </div>
    ${trigger.type === "record_updated" && object ? html`<fieldset class=${"checkboxes" + (at("fields").length ? " invalid" : "")}>
      <legend>Only when one of these fields changes <span class="muted">(none: any change)</span></legend>
      <div class="checkbox-grid">
        ${fields.map((f) => html`<label><input type="checkbox" checked=${chosen.has(f.apiName)}
          onChange=${(e) => {
            const next = new Set(chosen);
            if (e.target.checked) next.add(f.apiName); else next.delete(f.apiName);
            set("fields", next.size ? fields.map((x) => x.apiName).filter((n) => next.has(n)) : undefined);
          }} /> ${f.label}</label>`)}
      </div>
      <${ProblemText} problems=${at("fields")} />
    </fieldset>` : null}
    ${trigger.type === "relative_date" ? html`<div class="grid-2">
      <div class=${fieldClass("date_field")}>
        <label for="wf-date-field">Date field</label>
        <select id="wf-date-field" value=${trigger.date_field || ""} onChange=${(e) => set("date_field", e.target.value)}>
          <option value="">— choose —</option>
          ${dateFields.map((f) => html`<option value=${f.apiName}>${f.label} (${f.apiName})</option>`)}
        </select>
        <${ProblemText} problems=${at("date_field")} />
      </div>
      <div>
        <${SchemaForm} schema=${{ type: "object", properties: { offset: { ...offsetSchema, title: "Offset", description: "Fill either before or after." } } }}
          root=${WORKFLOW_SCHEMA} value=${{ offset: trigger.offset }} problems=${problems}
          onChange=${(v) => set("offset", v.offset)} />
      </div>
    </div>` : null}
    ${trigger.type === "schedule" ? html`<div class=${fieldClass("cron")}>
      <label for="wf-cron">Cron</label>
      <input id="wf-cron" type="text" value=${trigger.cron || ""} placeholder="0 9 * * 1" aria-describedby="wf-cron-hint"
        onInput=${(e) => set("cron", e.target.value)} />
      <p class="hint" id="wf-cron-hint">Five fields: minute hour day month weekday, in the workspace's time zone.</p>
      <${ProblemText} problems=${at("cron")} />
    </div>` : null}
    ${trigger.type === "schedule" && trigger.object ? html`<${FilterInput} label="Filter" object=${object}
      value=${trigger.filter} onChange=${(v) => set("filter", v)} problems=${at("filter")}
      hint="The records each tick runs over." />` : null}
    ${CONDITION_TRIGGERS.includes(trigger.type) ? html`<${FilterInput} label="Conditions" object=${object}
      value=${trigger.condition} onChange=${(v) => set("condition", v)} problems=${at("condition")}
      hint="Only records matching this start a run (plus changed / changed_from / changed_to)." />` : null}
    ${trigger.type === "webhook" ? html`<p class="hint">Activated, the workflow gets an address and a secret
      (shown on this page); POST JSON there, read as {{ trigger.data }}.</p>` : null}
  </section>`;
}

function Versions({ versions }) {
  if (!versions.length) return null;
  return html`<details class="panel">
    <summary>Versions (${versions.length})</summary>
    <table>
      <thead><tr><th>Version</th><th>Status</th><th>Saved by</th><th>Saved at</th></tr></thead>
      <tbody>${versions.map((v) => html`<tr><td>${v.version}</td><td><span class=${`badge status-${v.status}`}>${v.status}</span></td>
        <td>${v.createdBy}</td><td>${when(v.createdAt)}</td></tr>`)}</tbody>
    </table>
  </details>`;
}

function Webhook({ name }) {
  const [hook, setHook] = useState(null);
  useEffect(() => {
    metadata("query($n: String!) { workflowWebhook(name: $n) { path secret } }", { n: name })
      .then((d) => setHook(d.workflowWebhook), () => setHook(null));
  }, [name]);
  if (!hook) return null;
  return html`<section class="panel"><h2>Webhook</h2>
    <p>POST JSON to <code>${window.location.origin}${hook.path}</code> with <code>Authorization: Bearer ${hook.secret}</code>.</p></section>`;
}

// A message for the page a new workflow moves to once saved (it is mounted afresh).
let flash = null;

export default function AdminWorkflow({ params }) {
  const existing = params.name || null;
  const [objects, setObjects] = useState(null);
  const [versions, setVersions] = useState([]);
  const [doc, setDoc] = useState(existing ? null : { name: "", trigger: { type: "" }, steps: [] });
  const [saved, setSaved] = useState(null); // the document as last saved or loaded
  const [error, setError] = useState(null);
  const [problems, setProblems] = useState(null);
  const [message, setMessage] = useState(() => { const m = flash; flash = null; return m; });
  const [busy, setBusy] = useState(false);
  const [jsonText, setJsonText] = useState(null);

  async function load(name) {
    const data = await metadata(VERSIONS, { name });
    setVersions(data.workflowVersions);
    return data.workflowVersions;
  }

  useEffect(() => {
    metadata(OBJECTS).then((d) => setObjects(d.objects), setError);
    if (existing) {
      load(existing).then((list) => {
        if (!list.length) { setError(new Error(`There is no workflow '${existing}'.`)); return; }
        const current = list.find((v) => v.status === "draft") || list.find((v) => v.status === "active") || list[0];
        setDoc(current.definition);
        setSaved(JSON.stringify(current.definition));
      }, setError);
    }
  }, [existing]);

  const document = useMemo(() => (doc ? clean(doc) : null), [doc]);
  if (error && (!doc || !objects)) return html`<${ErrorBanner} error=${error} />`;
  if (!doc || !objects) return html`<${Loading} />`;

  const name = document.name;
  const active = versions.find((v) => v.status === "active");
  const draft = versions.find((v) => v.status === "draft");
  const dirty = saved !== JSON.stringify(document);
  const allProblems = problems || [];
  const at = (key) => problemsUnder(allProblems, [key]);

  let persisted = false; // saved during this render's action
  const change = (next) => { setDoc(next); setMessage(null); };
  const fail = (failure) => {
    setError(failure);
    setProblems(failure.problems && failure.problems.some((p) => p.inputPath && p.inputPath.length) ? failure.problems : null);
  };
  const act = async (what) => {
    setBusy(true); setError(null); setMessage(null);
    try {
      const done = await what();
      if (!existing && persisted && done) {
        flash = done;
        navigate(`/admin/workflows/${encodeURIComponent(name)}`);
      } else if (done) setMessage(done);
    } catch (failure) { fail(failure); } finally { setBusy(false); }
  };
  const nameProblem = (code, message) => {
    const p = { code, message, inputPath: ["name"] };
    return Object.assign(new Error(message), { code, problems: [p] });
  };
  const localCheck = async () => {
    if (!NAME_PATTERN.test(name || "")) throw nameProblem("INVALID_NAME", "A name in snake_case, e.g. stamp_new_companies.");
    if (!existing) {
      const data = await metadata(VERSIONS, { name }).catch((failure) => {
        if (failure.code === "UNKNOWN_WORKFLOW") return { workflowVersions: [] };
        throw failure;
      });
      if (data.workflowVersions.length) {
        throw nameProblem("DUPLICATE_NAME", `A workflow named '${name}' exists already: open it from the workflow list, or choose another name.`);
      }
    }
  };
  const validate = () => act(async () => {
    await localCheck();
    await metadata("mutation($d: JSON!) { validateWorkflow(definition: $d) }", { d: document });
    setProblems([]);
    return "Valid: the server found no problems.";
  });
  const saveDraft = async () => {
    await localCheck();
    const data = await metadata("mutation($d: JSON!) { saveWorkflowDraft(definition: $d) { name version status } }", { d: document });
    setSaved(JSON.stringify(document));
    persisted = true;
    setProblems([]);
    await load(data.saveWorkflowDraft.name);
    return data.saveWorkflowDraft;
  };
  const save = () => act(async () => {
    const v = await saveDraft();
    return `Draft saved (version ${v.version}).`;
  });
  const activate = () => act(async () => {
    if (dirty || !existing) await saveDraft();
    const data = await metadata("mutation($n: String!) { activateWorkflow(name: $n) { version status } }", { n: name });
    await load(name);
    return `Version ${data.activateWorkflow.version} is active.`;
  });
  const deactivate = () => act(async () => {
    await metadata("mutation($n: String!) { deactivateWorkflow(name: $n) }", { n: name });
    await load(name);
    return "Deactivated: the workflow no longer runs (its versions are kept).";
  });

  const triggerObject = doc.trigger && doc.trigger.object;
  return html`
    <${PageHeader} title=${existing ? `Workflow ${existing}` : "New workflow"}>
      <a class="button" href=${href("/admin/workflows")}>All workflows</a>
      ${existing ? html`<a class="button" href=${href(`/admin/runs?workflow=${encodeURIComponent(existing)}`)}>Runs</a>` : null}
    </${PageHeader}>
    <p class="status-line">
      ${active ? html`<span class="badge status-active">active: version ${active.version}</span>` : html`<span class="badge">not active</span>`}
      ${" "}${draft ? html`<span class="badge status-draft">draft: version ${draft.version}</span>` : null}
      ${" "}${dirty ? html`<span class="badge status-dirty">unsaved changes</span>` : null}
    </p>
    <div class="wf-toolbar row" role="toolbar" aria-label="Workflow actions">
      <button type="button" disabled=${busy} onClick=${validate}>Validate</button>
      <button type="button" disabled=${busy} onClick=${save}>Save draft</button>
      <button type="button" class="primary" disabled=${busy || (existing && !dirty && !draft && active)}
        title=${existing && !dirty && !draft && active ? "This version is active already" : ""} onClick=${activate}>Activate</button>
      ${active ? html`<button type="button" class="danger" disabled=${busy} onClick=${deactivate}>Deactivate</button>` : null}
    </div>
    <div aria-live="polite">
      ${message ? html`<p class="ok-banner" role="status">${message}</p>` : null}
      ${error && !allProblems.length ? html`<${ErrorBanner} error=${error} />` : null}
      <${Problems} problems=${allProblems} />
    </div>

    <section class="panel" aria-labelledby="about-title">
      <h2 id="about-title">Workflow</h2>
      <div class="grid-2">
        <div class=${"field" + (at("name").length ? " invalid" : "")}>
          <label for="wf-name">Name</label>
          <input id="wf-name" type="text" value=${doc.name || ""} readonly=${!!existing}
            aria-describedby="wf-name-hint" placeholder="stamp_new_companies"
            onInput=${(e) => change({ ...doc, name: e.target.value })} />
          <p class="hint" id="wf-name-hint">${existing ? "The name stays; save under another name by starting a new workflow." : "snake_case, unique in the workspace."}</p>
          <${ProblemText} problems=${at("name")} />
        </div>
        <div class=${"field" + (at("label").length ? " invalid" : "")}>
          <label for="wf-label">Label</label>
          <input id="wf-label" type="text" value=${doc.label || ""} onInput=${(e) => change({ ...doc, label: e.target.value })} />
        </div>
      </div>
      <div class=${"field" + (at("description").length ? " invalid" : "")}>
        <label for="wf-description">Description</label>
        <textarea id="wf-description" rows="2" value=${doc.description || ""}
          onInput=${(e) => change({ ...doc, description: e.target.value })}></textarea>
        <${ProblemText} problems=${at("description")} />
      </div>
    </section>

    <${TriggerEditor} trigger=${doc.trigger || {}} objects=${objects} problems=${at("trigger")}
      onChange=${(t) => change({ ...doc, trigger: t })} />

    <section class="panel" aria-labelledby="steps-title">
      <h2 id="steps-title">Steps</h2>
      <${StepsEditor} steps=${doc.steps || []} objects=${objects} triggerObject=${triggerObject}
        problems=${at("steps")} onChange=${(steps) => change({ ...doc, steps })} />
    </section>

    <details class="panel">
      <summary>Settings</summary>
      <${SchemaForm} schema=${WORKFLOW_SCHEMA.properties.settings} root=${WORKFLOW_SCHEMA}
        value=${doc.settings || {}} problems=${at("settings")}
        onChange=${(settings) => change({ ...doc, settings })} />
    </details>

    <details class="panel json-doc" onToggle=${(e) => { if (!e.target.open) setJsonText(null); }}>
      <summary>JSON document</summary>
      <pre aria-label="The workflow document as JSON">${JSON.stringify(document, null, 2)}</pre>
      <div class="field">
        <label for="wf-json">Paste a document (JSON)</label>
        <textarea id="wf-json" rows="6" value=${jsonText || ""} onInput=${(e) => setJsonText(e.target.value)}></textarea>
      </div>
      <button type="button" disabled=${!jsonText} onClick=${() => {
        try {
          const parsed = JSON.parse(jsonText);
          if (existing) parsed.name = existing;
          change({ trigger: { type: "" }, steps: [], ...parsed });
          setJsonText(null); setError(null);
        } catch (failure) { setError(new Error("That is not valid JSON: " + failure.message)); }
      }}>Use this document</button>
    </details>
    ${existing && active && (doc.trigger || {}).type === "webhook" ? html`<${Webhook} name=${existing} />` : null}
    <${Versions} versions=${versions} />`;
}
