// The workflow builder's parts: the workflow JSON Schema, each step type's form (generated
// from the schema's step definition by schema-form.js), nested steps for branches and
// loops, and the condition input (components/filter-editor.js when it is there, else JSON).
import { html, useEffect, useState } from "../vendor/preact-htm.js";
import SchemaForm, { JsonInput, Label, ProblemText, humanize, problemsUnder } from "./schema-form.js";

// workflows/schemas/workflow.schema.json (`tessera workflow schema`), as published. The server
// does not serve it to browsers, so the console carries a copy; the server validates anyway.
export const WORKFLOW_SCHEMA = {"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://tessera.dev/schemas/workflow.schema.json","title":"Tessera workflow","description":"A no-code automation: when the trigger fires, run the steps.","type":"object","additionalProperties":false,"required":["name","trigger","steps"],"properties":{"name":{"type":"string","pattern":"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$","description":"snake_case, unique in the workspace"},"label":{"type":"string"},"description":{"type":"string"},"trigger":{"$ref":"#/$defs/trigger"},"steps":{"type":"array","items":{"$ref":"#/$defs/step"}},"settings":{"type":"object","additionalProperties":false,"properties":{"retry":{"type":"object","additionalProperties":false,"properties":{"max_attempts":{"type":"integer","minimum":1,"maximum":10},"backoff_seconds":{"type":"integer","minimum":1,"maximum":3600}}},"max_depth":{"type":"integer","minimum":1,"maximum":20,"description":"how deep workflows may trigger workflows (loop guard)"},"run_as":{"type":"string","description":"the user the workflow writes as"}}}},"$defs":{"trigger":{"type":"object","required":["type"],"additionalProperties":false,"properties":{"type":{"enum":["record_created","record_updated","record_deleted","schedule","relative_date","manual","webhook"]},"object":{"type":"string","pattern":"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$"},"fields":{"type":"array","items":{"type":"string","pattern":"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$"}},"condition":{"type":"object","description":"a filter, plus changed / changed_from / changed_to"},"cron":{"type":"string","description":"schedule: five-field cron, workspace time zone"},"filter":{"type":"object","description":"schedule: the records it runs over"},"date_field":{"type":"string","pattern":"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$"},"offset":{"type":"object","additionalProperties":false,"properties":{"before":{"type":"object","additionalProperties":false,"minProperties":1,"properties":{"minutes":{"type":"integer","minimum":0},"hours":{"type":"integer","minimum":0},"days":{"type":"integer","minimum":0}}},"after":{"type":"object","additionalProperties":false,"minProperties":1,"properties":{"minutes":{"type":"integer","minimum":0},"hours":{"type":"integer","minimum":0},"days":{"type":"integer","minimum":0}}}},"minProperties":1,"maxProperties":1}}},"step":{"type":"object","required":["id","type"],"properties":{"id":{"type":"string","pattern":"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$"},"type":{"enum":["create_record","update_record","delete_record","find_records","branch","loop","wait","send_email","http_request","connector_action"]},"object":{"type":"string","pattern":"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$"},"record":{"type":"string","description":"the record to update/delete: a template"},"values":{"type":"object"},"filter":{"type":"object"},"if":{"type":"object","description":"branch: a condition"},"then":{"type":"array","items":{"$ref":"#/$defs/step"}},"else":{"type":"array","items":{"$ref":"#/$defs/step"}},"over":{"type":"string","description":"loop: a template naming a list"},"steps":{"type":"array","items":{"$ref":"#/$defs/step"}},"duration":{"type":"object","additionalProperties":false,"minProperties":1,"properties":{"minutes":{"type":"integer","minimum":0},"hours":{"type":"integer","minimum":0},"days":{"type":"integer","minimum":0}}},"until":{"type":"string","description":"wait: a template naming a date"},"to":{"description":"send_email: addresses, comma-separated or a list","type":["string","array"],"items":{"type":"string"}},"subject":{"type":"string"},"body":{"type":"string","description":"send_email: the text body"},"html":{"type":"string","description":"send_email: the HTML body"},"from":{"type":"string","description":"send_email: the sender address"},"method":{"enum":["GET","POST","PUT","PATCH","DELETE"]},"url":{"type":"string"},"headers":{"type":"object","additionalProperties":{"type":"string"}},"json":{},"timeout_seconds":{"type":"number","exclusiveMinimum":0,"maximum":120},"connector":{"type":"string"},"action":{"type":"string"},"input":{"type":"object"}},"additionalProperties":false}}};

export const TRIGGER_TYPES = WORKFLOW_SCHEMA.$defs.trigger.properties.type.enum;
export const STEP_TYPES = WORKFLOW_SCHEMA.$defs.step.properties.type.enum;
export const RECORD_TRIGGERS = ["record_created", "record_updated", "record_deleted", "relative_date", "manual", "schedule"];
export const CONDITION_TRIGGERS = ["record_created", "record_updated", "record_deleted", "relative_date"];

// Which of the step definition's properties each step type uses (docs/workflows.md, Steps).
export const STEP_FIELDS = {
  create_record: ["object", "values"],
  update_record: ["object", "record", "values"],
  delete_record: ["object", "record"],
  find_records: ["object", "filter"],
  branch: ["if", "then", "else"],
  loop: ["over", "steps"],
  wait: ["duration", "until"],
  send_email: ["to", "subject", "body", "html", "from"],
  http_request: ["method", "url", "headers", "json", "timeout_seconds"],
  connector_action: ["connector", "action", "input"],
};
const NESTED = ["then", "else", "steps"];
const LABELS = { if: "If (condition)", then: "Then", else: "Else", steps: "Steps", over: "Over (list)", to: "To", from: "From",
  body: "Text body", html: "HTML body", url: "URL", json: "JSON body", timeout_seconds: "Timeout (seconds)" };
const HINTS = {
  record: "The record's id, usually a template: {{ record.id }}",
  over: "A template naming a list: {{ steps.find_open.result }}",
  to: "Addresses, comma-separated, or a template: {{ record.email }}",
  input: "The action's input, as JSON",
  body: "", html: "", from: "The sender address (optional)", json: "Sent as the request's JSON body",
};

// Every step id in a list of steps, nested ones included.
export function stepIds(steps, into = new Set()) {
  for (const step of steps || []) {
    if (step && step.id) into.add(step.id);
    for (const key of NESTED) if (Array.isArray(step && step[key])) stepIds(step[key], into);
  }
  return into;
}

export function newStep(type, taken, triggerObject) {
  let n = 1;
  while (taken.has(`${type}_${n}`)) n++;
  const step = { id: `${type}_${n}`, type };
  if (["create_record", "update_record", "delete_record", "find_records"].includes(type) && triggerObject) step.object = triggerObject;
  if (type === "update_record" || type === "delete_record") step.record = "{{ record.id }}";
  if (type === "create_record" || type === "update_record") step.values = {};
  if (type === "branch") { step.if = {}; step.then = []; }
  if (type === "loop") step.steps = [];
  if (type === "wait") step.duration = { days: 1 };
  return step;
}

// A filter: the filter editor another screen provides (loaded on demand), else a JSON textarea.
let filterEditorModule;
function useFilterEditor() {
  const [module, setModule] = useState(() => filterEditorModule);
  useEffect(() => {
    if (filterEditorModule !== undefined) return;
    import("./filter-editor.js").then(
      (m) => { filterEditorModule = m.FilterEditor || m.default || null; setModule(() => filterEditorModule); },
      () => { filterEditorModule = null; setModule(null); },
    );
  }, []);
  return module;
}

// object: the metadata object (with its fields) the filter is about.
export function FilterInput({ object, value, onChange, label, labelPrefix = "", problems = [], hint }) {
  const Editor = useFilterEditor();
  const [id] = useState(() => `filter-${Math.random().toString(36).slice(2, 9)}`);
  const [raw, setRaw] = useState(false);
  const shownProblems = problems;
  if (Editor && !raw) {
    return html`<fieldset class="filter-input" data-field=${label}>
      <legend>${labelPrefix ? html`<span class="sr-only">${labelPrefix} </span>` : null}${label}</legend>
      ${hint ? html`<p class="hint">${hint}</p>` : null}
      ${object ? html`<${Editor} object=${object} value=${value || {}} onChange=${(v) => onChange(v && Object.keys(v).length ? v : undefined)} />`
        : html`<p class="muted">Choose an object first.</p>`}
      ${object ? null : html`<button type="button" class="link" onClick=${() => setRaw(true)}>Edit as JSON</button>`}
      <${ProblemText} problems=${shownProblems} />
    </fieldset>`;
  }
  return html`<div class=${"field" + (shownProblems.length ? " invalid" : "")} data-field=${label}>
    <${Label} for=${id} prefix=${labelPrefix} text=${`${label} (JSON)`} />
    <${JsonInput} id=${id} value=${value} onChange=${onChange} describedBy=${`${id}-hint`}
      placeholder='{"stage": {"eq": "won"}}' />
    <p class="hint" id=${`${id}-hint`}>${hint ? hint + " " : ""}The filter language, e.g. {"amount": {"gt": 1000}}${Editor ? "" : " (the visual editor is not available)"}.</p>
    ${Editor ? html`<button type="button" class="link" onClick=${() => setRaw(false)}>Use the visual editor</button>` : null}
    <${ProblemText} problems=${shownProblems} />
  </div>`;
}

// The values a record step writes: rows of field and value.
function coerce(field, text) {
  if (!field || typeof text !== "string" || /{{/.test(text)) return text;
  if (field.type === "integer" && /^-?\d+$/.test(text.trim())) return Number(text);
  if (field.type === "boolean" && /^(true|false)$/i.test(text.trim())) return text.trim().toLowerCase() === "true";
  if (["json", "multi_select", "currency"].includes(field.type) && /^[[{"]/.test(text.trim())) {
    try { return JSON.parse(text); } catch (e) { return text; }
  }
  return text;
}
const shown = (v) => (v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v));

export function ValuesEditor({ value, onChange, object, labelPrefix = "", problems = [], label = "Values" }) {
  const fields = (object && object.fields) || [];
  const fromValue = (v) => Object.entries(v || {}).map(([field, val]) => ({ field, value: shown(val) }));
  const [rows, setRows] = useState(() => fromValue(value));
  const toValue = (list) => {
    const out = {};
    for (const row of list) if (row.field) out[row.field] = coerce(fields.find((f) => f.apiName === row.field), row.value);
    return out;
  };
  useEffect(() => {
    if (JSON.stringify(toValue(rows)) !== JSON.stringify(value || {})) setRows(fromValue(value));
  }, [JSON.stringify(value || {})]);
  const update = (list) => { setRows(list); onChange(toValue(list)); };
  const p = labelPrefix ? `${labelPrefix} ` : "";
  return html`<fieldset class="values-editor" data-field="values">
    <legend>${p ? html`<span class="sr-only">${p}</span>` : null}${label}</legend>
    ${rows.length === 0 ? html`<p class="muted">No values yet.</p>` : null}
    ${rows.map((row, i) => {
      const at = problemsUnder(problems, [row.field]);
      const fieldId = `${labelPrefix.replace(/\W+/g, "-")}-vf-${i}`;
      return html`<div class="row value-row" key=${i}>
        <div class="field">
          <label for=${fieldId}><span class="sr-only">${p}</span>Field ${i + 1}</label>
          ${fields.length
            ? html`<select id=${fieldId} value=${row.field} onChange=${(e) => update(rows.map((r, j) => (j === i ? { ...r, field: e.target.value } : r)))}>
                <option value="">— field —</option>
                ${fields.map((f) => html`<option value=${f.apiName}>${f.label} (${f.apiName})</option>`)}
                ${row.field && !fields.some((f) => f.apiName === row.field) ? html`<option value=${row.field}>${row.field}</option>` : null}
              </select>`
            : html`<input id=${fieldId} type="text" value=${row.field}
                onInput=${(e) => update(rows.map((r, j) => (j === i ? { ...r, field: e.target.value } : r)))} />`}
        </div>
        <div class=${"field grow" + (at.length ? " invalid" : "")}>
          <label for=${`${fieldId}-v`}><span class="sr-only">${p}</span>Value ${i + 1}</label>
          <input id=${`${fieldId}-v`} type="text" value=${row.value} aria-invalid=${at.length ? "true" : null}
            placeholder="text, or a template: {{ record.name }}"
            onInput=${(e) => update(rows.map((r, j) => (j === i ? { ...r, value: e.target.value } : r)))} />
          <${ProblemText} problems=${at} />
        </div>
        <button type="button" aria-label=${`${p}Remove value ${i + 1}`}
          onClick=${() => update(rows.filter((_, j) => j !== i))}>Remove</button>
      </div>`;
    })}
    <button type="button" onClick=${() => update([...rows, { field: "", value: "" }])}>
      ${p ? html`<span class="sr-only">${p}</span>` : null}Add value</button>
    <${ProblemText} problems=${problems.filter((x) => !x.inputPath.length || !rows.some((r) => r.field === String(x.inputPath[0])))} />
  </fieldset>`;
}

function ObjectSelect({ id, value, onChange, objects, labelPrefix, describedBy, invalid }) {
  return html`<select id=${id} value=${value || ""} aria-describedby=${describedBy} aria-invalid=${invalid ? "true" : null}
    onChange=${(e) => onChange(e.target.value || undefined)}>
    <option value="">— object —</option>
    ${objects.map((o) => html`<option value=${o.apiName}>${o.labelSingular} (${o.apiName})</option>`)}
    ${value && !objects.some((o) => o.apiName === value) ? html`<option value=${value}>${value}</option>` : null}
  </select>`;
}

// One step: its id, type, the type's form, move up/down, remove.
function StepEditor({ step, index, count, onChange, onMove, onRemove, objects, triggerObject, problems, labelPrefix, taken, depth }) {
  const stepSchema = WORKFLOW_SCHEMA.$defs.step;
  const object = objects.find((o) => o.apiName === step.object);
  const trigger = objects.find((o) => o.apiName === triggerObject);
  const p = labelPrefix;
  const renderers = {
    object: ({ id, value, onChange: set, problems: here, hint }) => html`<div class=${"field" + (here.length ? " invalid" : "")} data-field="object">
        <${Label} for=${id} prefix=${p} text="Object" />
        <${ObjectSelect} id=${id} value=${value} onChange=${set} objects=${objects} invalid=${here.length} />
        <${ProblemText} problems=${here} />
      </div>`,
    values: ({ value, onChange: set, problems: here }) => html`<${ValuesEditor} value=${value} onChange=${set}
        object=${object} labelPrefix=${p} problems=${here} />`,
    filter: ({ value, onChange: set, problems: here }) => html`<${FilterInput} label="Filter" labelPrefix=${p}
        object=${object} value=${value} onChange=${set} problems=${here} />`,
    if: ({ value, onChange: set, problems: here }) => html`<${FilterInput} label="If (condition)" labelPrefix=${p}
        object=${trigger} value=${value} onChange=${set} problems=${here}
        hint="Tested on the triggering record." />`,
  };
  for (const key of NESTED) {
    renderers[key] = ({ value, onChange: set, problems: here }) => html`<fieldset class="nested-steps" data-field=${key}>
      <legend>${html`<span class="sr-only">${p} </span>`}${LABELS[key]}</legend>
      <${StepsEditor} steps=${value || []} onChange=${(v) => set(v)} objects=${objects} triggerObject=${triggerObject}
        problems=${here} labelPrefix=${`${p} ${key}`} taken=${taken} depth=${depth + 1} />
    </fieldset>`;
  }
  const fields = STEP_FIELDS[step.type] || Object.keys(stepSchema.properties).filter((k) => !["id", "type"].includes(k));
  const schemaWithText = {
    ...stepSchema,
    properties: Object.fromEntries(Object.entries(stepSchema.properties).map(([k, v]) => [k,
      { ...v, title: LABELS[k] || v.title, description: k in HINTS ? HINTS[k] || undefined : (v.description || "").replace(/^[a-z_]+: /, "") || undefined }])),
  };
  const idProblems = problemsUnder(problems, ["id"]);
  const typeProblems = problemsUnder(problems, ["type"]);
  const ownProblems = problems.filter((x) => !x.inputPath.length || ![...fields, "id", "type"].includes(String(x.inputPath[0])));
  const idId = `${p.replace(/\W+/g, "-")}-id`;
  return html`<li class="step-card">
    <fieldset class="step" aria-label=${`${p}: ${step.type} ${step.id || ""}`.trim()}>
      <legend><span class="step-number">${p}</span> <code>${step.type}</code></legend>
      <div class="row step-head">
        <div class=${"field" + (idProblems.length ? " invalid" : "")}>
          <${Label} for=${idId} prefix=${p} text="Step ID" />
          <input id=${idId} type="text" value=${step.id || ""} pattern="^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$"
            onInput=${(e) => onChange({ ...step, id: e.target.value })} />
          <${ProblemText} problems=${idProblems} />
        </div>
        <div class="step-tools" role="group" aria-label=${`${p} tools`}>
          <button type="button" aria-label=${`Move ${p} up`} disabled=${index === 0} onClick=${() => onMove(-1)}>↑ Up</button>
          <button type="button" aria-label=${`Move ${p} down`} disabled=${index === count - 1} onClick=${() => onMove(1)}>↓ Down</button>
          <button type="button" class="danger" aria-label=${`Remove ${p}`} onClick=${onRemove}>Remove</button>
        </div>
      </div>
      <${ProblemText} problems=${[...typeProblems, ...ownProblems]} />
      <${SchemaForm} schema=${schemaWithText} root=${WORKFLOW_SCHEMA} value=${step} fields=${fields}
        problems=${problems} labelPrefix=${p} renderers=${renderers}
        onChange=${(next) => onChange({ id: step.id, type: step.type, ...next })} />
    </fieldset>
  </li>`;
}

// A list of steps (the workflow's, or a branch's or loop's): each step's form, and "Add step".
export function StepsEditor({ steps, onChange, objects, triggerObject, problems = [], labelPrefix = "Step", taken, depth = 0 }) {
  const [type, setType] = useState("");
  const list = steps || [];
  const all = taken || stepIds(list);
  const addId = `add-${labelPrefix.replace(/\W+/g, "-")}`;
  const move = (i, delta) => {
    const next = [...list];
    const [item] = next.splice(i, 1);
    next.splice(i + delta, 0, item);
    onChange(next);
  };
  const nested = depth > 0;
  const where = nested ? ` (${labelPrefix})` : "";
  return html`<div class="steps-editor">
    ${list.length ? html`<ol class="steps">
      ${list.map((step, i) => html`<${StepEditor} key=${i} step=${step} index=${i} count=${list.length}
        labelPrefix=${`${labelPrefix} ${i + 1}`} objects=${objects} triggerObject=${triggerObject} taken=${all} depth=${depth}
        problems=${problemsUnder(problems, [i])}
        onChange=${(s) => onChange(list.map((x, j) => (j === i ? s : x)))}
        onMove=${(d) => move(i, d)} onRemove=${() => onChange(list.filter((_, j) => j !== i))} />`)}
    </ol>` : html`<p class="muted">No steps${nested ? " here" : ""} yet.</p>`}
    <div class="row add-step">
      <label for=${addId}>Step type${nested ? html`<span class="sr-only">${where}</span>` : null}</label>
      <select id=${addId} value=${type} onChange=${(e) => setType(e.target.value)}>
        <option value="">— choose —</option>
        ${STEP_TYPES.map((t) => html`<option value=${t}>${humanize(t).replace(/^Http/, "HTTP")} (${t})</option>`)}
      </select>
      <button type="button" disabled=${!type}
        onClick=${() => { onChange([...list, newStep(type, all, triggerObject)]); setType(""); }}>
        Add step${nested ? html`<span class="sr-only">${where}</span>` : null}</button>
    </div>
    <${ProblemText} problems=${problems.filter((x) => !x.inputPath.length)} />
  </div>`;
}
