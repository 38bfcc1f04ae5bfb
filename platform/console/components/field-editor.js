// Adding or changing one field of an object: its attributes, its type's options (a form
// generated from the type's options JSON Schema, with dedicated editors for select choices,
// lookups, currencies and JSON schemas), a preview of the plan the server computes, then
// the change itself.
import { html, useEffect, useMemo, useRef, useState } from "../vendor/preact-htm.js";
import { metadata } from "../api.js";
import { ErrorBanner, Field } from "./ui.js";
import { OptionsEditor, errorAt, withKeys, withoutKeys } from "./options-editor.js";

const RESULT = `applied version changes plan { description destructive sql } dataLoss { object field records }
  object { apiName fields { apiName } }`;
const CREATE = `mutation($input: CreateFieldInput!, $dryRun: Boolean!) {
  createField(input: $input, dryRun: $dryRun) { ${RESULT} } }`;
const UPDATE = `mutation($input: UpdateFieldInput!, $dryRun: Boolean!) {
  updateField(input: $input, dryRun: $dryRun) { ${RESULT} } }`;

// Options a form should not offer: ids the server fills in.
const HIDDEN_OPTIONS = new Set(["target_object_id"]);

export function snakeCase(text) {
  return text.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").replace(/^([0-9])/, "f_$1").slice(0, 48);
}

function humanize(key) {
  const special = { schema: "JSON Schema", target_object: "Target object", on_delete: "On delete",
    default_currency: "Default currency", allowed_currencies: "Allowed currencies", default_region: "Default region",
    min_value: "Minimum value", max_value: "Maximum value", max_length: "Maximum length" };
  if (special[key]) return special[key];
  const words = key.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function typesOf(schema) {
  if (!schema) return [];
  if (Array.isArray(schema.type)) return schema.type;
  if (schema.type) return [schema.type];
  if (schema.enum) return ["enum"];
  return [];
}

// The problems of `error` not at any of `paths` (prefixes): shown above the form.
function unplaced(error, paths) {
  if (!error) return null;
  if (!error.problems || !error.problems.length) return error;
  const rest = error.problems.filter((p) => {
    const path = (p.inputPath || []).map(String);
    return !paths.some((prefix) => prefix.every((seg, i) => path[i] === String(seg)));
  });
  if (!rest.length) return { message: "The server refused the change: see the problems below.", code: error.code };
  return { message: rest.map((p) => p.message).join(" "), code: rest[0].code };
}

// Text of the default input → the value the API takes (undefined: none).
function parseDefault(type, text) {
  if (text === "" || text === null || text === undefined) return undefined;
  if (type === "boolean") return text === "true";
  if (type === "integer") return /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : text;
  if (type === "json") return JSON.parse(text);
  if (type === "multi_select") {
    try {
      const parsed = JSON.parse(text);
      if (Array.isArray(parsed)) return parsed;
    } catch (e) { /* a comma-separated list */ }
    return text.split(",").map((s) => s.trim()).filter(Boolean);
  }
  if (type === "currency") {
    try {
      const parsed = JSON.parse(text);
      if (parsed && typeof parsed === "object") return parsed;
    } catch (e) { /* an amount alone */ }
    const m = text.trim().match(/^(-?[\d.]+)\s*([A-Za-z]{3})?$/);
    if (m) return m[2] ? { amount: m[1], currency_code: m[2].toUpperCase() } : { amount: m[1] };
    return text;
  }
  return text;
}

function formatDefault(type, value) {
  if (value === null || value === undefined) return "";
  if (type === "boolean") return value ? "true" : "false";
  if (type === "multi_select" && Array.isArray(value)) return value.join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function initialOptionState(field) {
  const options = { ...(field ? field.options || {} : {}) };
  const choices = withKeys(options.choices);
  delete options.choices;
  const schemaText = options.schema ? JSON.stringify(options.schema, null, 2) : "";
  return { options, choices, schemaText };
}

function sameJson(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function PlanView({ result, title = "What this change does", hideLoss = false }) {
  if (!result) return null;
  return html`
    <section class="plan" aria-label=${title}>
      <h3>${title}</h3>
      ${result.changes && result.changes.length
        ? html`<ul class="plan-changes">${result.changes.map((c) => html`<li>${c}</li>`)}</ul>`
        : html`<p class="muted">Nothing would change.</p>`}
      ${!hideLoss && result.dataLoss && result.dataLoss.length
        ? html`<div class="data-loss" role="alert"><strong>Data will be deleted:</strong>
            <ul>${result.dataLoss.map((d) => html`<li>${d.field
              ? `the '${d.field}' values of ${d.records} '${d.object}' record(s)`
              : `${d.records} record(s) of '${d.object}'`}</li>`)}</ul></div>`
        : null}
      ${result.plan && result.plan.length
        ? html`<ol class="plan-steps">${result.plan.map((step) => html`
            <li class=${step.destructive ? "destructive" : ""}>
              ${step.description}${step.destructive ? html` <span class="badge danger-badge">deletes data</span>` : null}
              ${step.sql && step.sql.length ? html`<pre>${step.sql.join("\n")}</pre>` : null}
            </li>`)}</ol>`
        : null}
    </section>`;
}

// props: object (api name), field (the field to change, or null to add one), fieldTypes,
// objects ([{apiName, labelSingular}]: lookup targets), onSaved(result), onCancel().
export function FieldEditor({ object, field, fieldTypes, objects, onSaved, onCancel }) {
  const isNew = !field;
  const [label, setLabel] = useState(field ? field.label : "");
  const [apiName, setApiName] = useState(field ? field.apiName : "");
  const [apiTouched, setApiTouched] = useState(!isNew);
  const [type, setType] = useState(field ? field.type : "text");
  const [required, setRequired] = useState(field ? field.required : false);
  const [unique, setUnique] = useState(field ? field.unique : false);
  const [helpText, setHelpText] = useState(field ? field.helpText || "" : "");
  const [trackHistory, setTrackHistory] = useState(field ? !!field.trackHistory : false);
  const [defaultText, setDefaultText] = useState(field ? formatDefault(field.type, field.default) : "");
  const initial = useMemo(() => initialOptionState(field), [field]);
  const [options, setOptions] = useState(initial.options);
  const [choices, setChoices] = useState(initial.choices);
  const [schemaText, setSchemaText] = useState(initial.schemaText);
  const [error, setError] = useState(null);
  const [preview, setPreview] = useState(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef(null);
  useEffect(() => focusProblem(formRef.current, error), [error]);

  const typeInfo = fieldTypes.find((t) => t.name === type) || { optionsSchema: { properties: {} } };
  const properties = (typeInfo.optionsSchema && typeInfo.optionsSchema.properties) || {};
  const prefix = "fe";

  function changeType(next) {
    setType(next);
    setPreview(null);
    const nextInfo = fieldTypes.find((t) => t.name === next);
    const nextProps = (nextInfo && nextInfo.optionsSchema && nextInfo.optionsSchema.properties) || {};
    // keep only the options the new type has
    setOptions((o) => Object.fromEntries(Object.entries(o).filter(([k]) => k in nextProps)));
    if (nextInfo && !nextInfo.supportsUnique) setUnique(false);
    if (nextInfo && !nextInfo.supportsDefault) setDefaultText("");
  }

  function setOption(key, value) {
    setPreview(null);
    setOptions((o) => {
      const next = { ...o };
      if (value === undefined) delete next[key];
      else next[key] = value;
      return next;
    });
  }

  // The options as the API takes them, or throws a client-side problem.
  function buildOptions() {
    const out = {};
    for (const [key, schema] of Object.entries(properties)) {
      if (HIDDEN_OPTIONS.has(key)) continue;
      if (key === "choices") {
        out.choices = withoutKeys(choices);
        continue;
      }
      if (key === "schema") {
        if (schemaText.trim() === "") {
          if (!isNew && field.options && field.options.schema) out.schema = null;
          continue;
        }
        try {
          out.schema = JSON.parse(schemaText);
        } catch (e) {
          throw clientProblem(["input", "options", "schema"], `The JSON Schema is not valid JSON: ${e.message}`);
        }
        if (out.schema === null || typeof out.schema !== "object" || Array.isArray(out.schema)) {
          throw clientProblem(["input", "options", "schema"], "The JSON Schema must be a JSON object, such as {\"type\": \"object\"}.");
        }
        continue;
      }
      const value = options[key];
      if (value === undefined || value === "") {
        const had = !isNew && field.options && field.options[key] !== undefined && field.options[key] !== null;
        if (had && typesOf(schema).includes("null")) out[key] = null;
        continue;
      }
      out[key] = value;
    }
    return out;
  }

  function clientProblem(inputPath, message) {
    const problem = { code: "INVALID_INPUT", message, inputPath };
    return { message, code: "INVALID_INPUT", inputPath, problems: [problem], client: true };
  }

  function buildInput() {
    const opts = buildOptions();
    let dflt;
    try {
      dflt = typeInfo.supportsDefault ? parseDefault(type, defaultText) : undefined;
    } catch (e) {
      throw clientProblem(["input", "default"], `The default is not valid JSON: ${e.message}`);
    }
    if (isNew) {
      const input = { object, apiName, type, label: label || undefined, required, unique, helpText, trackHistory, options: opts };
      if (dflt !== undefined) input.default = dflt;
      return input;
    }
    const input = { object, field: field.apiName };
    if (apiName !== field.apiName) input.apiName = apiName;
    if (label !== field.label) input.label = label;
    if (type !== field.type) input.type = type;
    if (required !== field.required) input.required = required;
    if (unique !== field.unique) input.unique = unique;
    if (helpText !== (field.helpText || "")) input.helpText = helpText;
    if (trackHistory !== !!field.trackHistory) input.trackHistory = trackHistory;
    if (!sameJson(dflt === undefined ? null : dflt, field.default === undefined ? null : field.default)) {
      input.default = dflt === undefined ? null : dflt;
    }
    const before = { ...(field.options || {}) };
    delete before.target_object_id;
    const changed = Object.fromEntries(Object.entries(opts).filter(([k, v]) => !sameJson(v, before[k])));
    if (Object.keys(changed).length) input.options = changed;
    return input;
  }

  async function run(dryRun) {
    setBusy(true);
    setError(null);
    try {
      const input = buildInput();
      const data = await metadata(isNew ? CREATE : UPDATE, { input, dryRun });
      const result = isNew ? data.createField : data.updateField;
      if (dryRun) setPreview(result);
      else onSaved(result, input.apiName || apiName);
    } catch (failure) {
      setError(failure);
      setPreview(null);
    } finally {
      setBusy(false);
    }
  }

  const at = (...path) => errorAt(error, ["input", ...path]);
  const placed = [["input", "label"], ["input", "apiName"], ["input", "type"], ["input", "required"],
    ["input", "unique"], ["input", "helpText"], ["input", "default"], ["input", "options"], ["input", "trackHistory"]];

  function optionInput(key, schema) {
    const types = typesOf(schema);
    const value = options[key];
    const id = `${prefix}-opt-${key}`;
    const hint = schema.description;
    const err = at("options", key);
    if (key === "choices") {
      return html`<${OptionsEditor} rows=${choices} onChange=${(rows) => { setChoices(rows); setPreview(null); }}
        error=${error} idPrefix="choice" />`;
    }
    if (key === "schema") {
      return html`<${Field} label="JSON Schema" name="schema" id=${id} error=${err}
          hint="Every value must satisfy this JSON Schema (draft 2020-12). Leave empty to accept any JSON.">
        ${({ id, describedBy, invalid }) => html`<textarea id=${id} aria-describedby=${describedBy} aria-invalid=${invalid}
          spellcheck="false" rows="8" value=${schemaText} placeholder='{"type": "object"}'
          onInput=${(e) => { setSchemaText(e.target.value); setPreview(null); }}></textarea>`}
      <//>`;
    }
    if (key === "target_object") {
      return html`<${Field} label="Target object" name="target_object" id=${id} error=${err}
          hint=${isNew ? "The object this field links to." : "The target of a lookup cannot change."}>
        ${({ id, describedBy, invalid }) => html`<select id=${id} aria-describedby=${describedBy} aria-invalid=${invalid}
          disabled=${!isNew} required value=${value || ""} onChange=${(e) => setOption(key, e.target.value || undefined)}>
          <option value="">Choose an object…</option>
          ${objects.map((o) => html`<option value=${o.apiName}>${o.labelSingular} (${o.apiName})</option>`)}
        </select>`}
      <//>`;
    }
    const enumValues = schema.enum || (schema.anyOf || []).flatMap((s) => s.enum || []);
    if (enumValues.length) {
      return html`<${Field} label=${humanize(key)} name=${key} id=${id} error=${err} hint=${hint}>
        ${({ id, describedBy, invalid }) => html`<select id=${id} aria-describedby=${describedBy} aria-invalid=${invalid}
          value=${value || ""} onChange=${(e) => setOption(key, e.target.value || undefined)}>
          <option value="">(default)</option>
          ${enumValues.map((v) => html`<option value=${v}>${v}</option>`)}
        </select>`}
      <//>`;
    }
    if (types.includes("boolean")) {
      return html`<div class="field check-field" data-field=${key}>
        <label class="check"><input type="checkbox" id=${id} checked=${!!value}
          onChange=${(e) => setOption(key, e.target.checked)} /> ${humanize(key)}</label>
        ${hint ? html`<p class="hint">${hint}</p>` : null}
      </div>`;
    }
    if (types.includes("integer") || types.includes("number")) {
      return html`<${Field} label=${humanize(key)} name=${key} id=${id} error=${err} hint=${hint}>
        ${({ id, describedBy, invalid }) => html`<input id=${id} type="number" aria-describedby=${describedBy}
          aria-invalid=${invalid} min=${schema.minimum} max=${schema.maximum} step=${types.includes("integer") ? 1 : "any"}
          value=${value === undefined || value === null ? "" : value}
          onInput=${(e) => setOption(key, e.target.value === "" ? undefined : Number(e.target.value))} />`}
      <//>`;
    }
    if (types.includes("array")) {
      return html`<${Field} label=${humanize(key)} name=${key} id=${id} error=${err}
          hint=${(hint ? hint + " " : "") + "Separate them with commas."}>
        ${({ id, describedBy, invalid }) => html`<input id=${id} aria-describedby=${describedBy} aria-invalid=${invalid}
          value=${Array.isArray(value) ? value.join(", ") : ""}
          onInput=${(e) => {
            const items = e.target.value.split(",").map((s) => s.trim()).filter(Boolean);
            setOption(key, items.length ? (key === "allowed_currencies" ? items.map((s) => s.toUpperCase()) : items) : undefined);
          }} />`}
      <//>`;
    }
    if (types.includes("object")) {
      return html`<${Field} label=${humanize(key)} name=${key} id=${id} error=${err} hint=${hint}>
        ${({ id, describedBy, invalid }) => html`<textarea id=${id} aria-describedby=${describedBy} aria-invalid=${invalid}
          value=${value ? JSON.stringify(value, null, 2) : ""}
          onChange=${(e) => { try { setOption(key, e.target.value ? JSON.parse(e.target.value) : undefined); } catch (x) { /* kept */ } }}></textarea>`}
      <//>`;
    }
    const upper = key === "default_currency" || key === "default_region";
    return html`<${Field} label=${humanize(key)} name=${key} id=${id} error=${err} hint=${hint}>
      ${({ id, describedBy, invalid }) => html`<input id=${id} aria-describedby=${describedBy} aria-invalid=${invalid}
        value=${value || ""} maxlength=${schema.maxLength || (key === "default_currency" ? 3 : key === "default_region" ? 2 : undefined)}
        class=${upper ? "short" : ""} spellcheck="false"
        onInput=${(e) => setOption(key, e.target.value === "" ? undefined : upper ? e.target.value.toUpperCase() : e.target.value)} />`}
    <//>`;
  }

  const optionKeys = Object.keys(properties).filter((k) => !HIDDEN_OPTIONS.has(k) && !(properties[k].format === "uuid"));
  // the lookup's target first
  optionKeys.sort((a, b) => (a === "target_object" ? -1 : b === "target_object" ? 1 : 0));

  function defaultInput() {
    if (!typeInfo.supportsDefault) return html`<p class="hint">A ${typeInfo.label || type} field takes no default.</p>`;
    const err = at("default");
    if (type === "boolean") {
      return html`<${Field} label="Default" name="default" id=${`${prefix}-default`} error=${err}>
        ${({ id, describedBy, invalid }) => html`<select id=${id} aria-describedby=${describedBy} aria-invalid=${invalid}
          value=${defaultText} onChange=${(e) => { setDefaultText(e.target.value); setPreview(null); }}>
          <option value="">No default</option><option value="true">Checked</option><option value="false">Not checked</option>
        </select>`}
      <//>`;
    }
    if (type === "select") {
      const values = choices.map((c) => c.value).filter(Boolean);
      return html`<${Field} label="Default" name="default" id=${`${prefix}-default`} error=${err}>
        ${({ id, describedBy, invalid }) => html`<select id=${id} aria-describedby=${describedBy} aria-invalid=${invalid}
          value=${defaultText} onChange=${(e) => { setDefaultText(e.target.value); setPreview(null); }}>
          <option value="">No default</option>
          ${values.map((v) => html`<option value=${v}>${v}</option>`)}
        </select>`}
      <//>`;
    }
    const hints = {
      date: "YYYY-MM-DD, or today.", datetime: "An ISO 8601 instant with its offset, or now.",
      multi_select: "Option values, separated by commas.", currency: "An amount, optionally followed by its currency code (1200.00 EUR).",
      json: "A JSON value.", lookup: "The id of a record of the target object.",
    };
    return html`<${Field} label="Default" name="default" id=${`${prefix}-default`} error=${err}
        hint=${(hints[type] || "Given to new records that leave the field empty.") + (isNew ? " Existing records get it too." : "")}>
      ${({ id, describedBy, invalid }) => type === "json"
        ? html`<textarea id=${id} aria-describedby=${describedBy} aria-invalid=${invalid} rows="3"
            value=${defaultText} onInput=${(e) => { setDefaultText(e.target.value); setPreview(null); }}></textarea>`
        : html`<input id=${id} aria-describedby=${describedBy} aria-invalid=${invalid} value=${defaultText}
            onInput=${(e) => { setDefaultText(e.target.value); setPreview(null); }} />`}
    <//>`;
  }

  return html`
    <form class="field-editor" ref=${formRef} onSubmit=${(e) => { e.preventDefault(); run(false); }} novalidate>
      <${ErrorBanner} error=${unplaced(error, placed)} />
      <div class="grid-2">
        <${Field} label="Field label" name="label" id=${`${prefix}-label`} error=${at("label")}>
          ${({ id, describedBy, invalid }) => html`<input id=${id} aria-describedby=${describedBy} aria-invalid=${invalid}
            value=${label} autofocus
            onInput=${(e) => {
              setLabel(e.target.value);
              setPreview(null);
              if (!apiTouched) setApiName(snakeCase(e.target.value));
            }} />`}
        <//>
        <${Field} label="Field API name" name="apiName" id=${`${prefix}-apiName`} error=${at("apiName")}
            hint=${isNew ? "lower_snake_case; how the APIs name it." : "Renaming keeps the data; apps using the old name must change."}>
          ${({ id, describedBy, invalid }) => html`<input id=${id} aria-describedby=${describedBy} aria-invalid=${invalid}
            value=${apiName} spellcheck="false" autocomplete="off"
            onInput=${(e) => { setApiName(e.target.value); setApiTouched(true); setPreview(null); }} />`}
        <//>
      </div>
      <${Field} label="Field type" name="type" id=${`${prefix}-type`} error=${at("type")} hint=${typeInfo.description}>
        ${({ id, describedBy, invalid }) => html`<select id=${id} aria-describedby=${describedBy} aria-invalid=${invalid}
          value=${type} onChange=${(e) => changeType(e.target.value)}>
          ${fieldTypes.map((t) => html`<option value=${t.name}>${t.label}</option>`)}
        </select>`}
      <//>
      ${!isNew && type !== field.type
        ? html`<p class="hint">Only safe type changes are accepted (text ← select, integer → decimal, date → datetime…); preview first.</p>`
        : null}
      <div class="row checks">
        <div class="field check-field" data-field="required">
          <label class="check"><input type="checkbox" id=${`${prefix}-required`} checked=${required}
            onChange=${(e) => { setRequired(e.target.checked); setPreview(null); }} /> Required</label>
          ${errorMessages(at("required"))}
        </div>
        <div class="field check-field" data-field="unique">
          <label class="check"><input type="checkbox" id=${`${prefix}-unique`} checked=${unique}
            disabled=${!typeInfo.supportsUnique && !unique}
            onChange=${(e) => { setUnique(e.target.checked); setPreview(null); }} /> Unique</label>
          ${!typeInfo.supportsUnique ? html`<p class="hint">${typeInfo.label || type} fields cannot be unique.</p>` : null}
          ${errorMessages(at("unique"))}
        </div>
        <div class="field check-field" data-field="trackHistory">
          <label class="check"><input type="checkbox" id=${`${prefix}-trackHistory`} checked=${trackHistory}
            onChange=${(e) => { setTrackHistory(e.target.checked); setPreview(null); }} /> Track history</label>
        </div>
      </div>
      <${Field} label="Help text" name="helpText" id=${`${prefix}-helpText`} error=${at("helpText")}>
        ${({ id, describedBy, invalid }) => html`<input id=${id} aria-describedby=${describedBy} aria-invalid=${invalid}
          value=${helpText} onInput=${(e) => { setHelpText(e.target.value); setPreview(null); }} />`}
      <//>
      ${defaultInput()}
      ${optionKeys.length
        ? html`<fieldset class="type-options"><legend>${typeInfo.label || type} options</legend>
            ${errorMessages(optionsLeftover(error, optionKeys))}
            ${optionKeys.map((key) => optionInput(key, properties[key]))}
          </fieldset>`
        : null}
      <${PlanView} result=${preview} title="Preview" />
      <div class="row form-actions">
        <button type="button" onClick=${() => run(true)} disabled=${busy}>Preview changes</button>
        <button type="submit" class="primary" disabled=${busy}>Save field</button>
        <button type="button" onClick=${onCancel}>Cancel</button>
        ${busy ? html`<span class="muted" role="status">Working…</span>` : null}
      </div>
    </form>`;
}

// After a refused change: focus the first input the server complained about (or the banner).
export function focusProblem(form, error) {
  if (!form || !error) return;
  const target = form.querySelector('[aria-invalid="true"]') || form.querySelector(".error-banner");
  if (!target) return;
  if (!target.matches("input, select, textarea, button")) target.setAttribute("tabindex", "-1");
  target.focus();
  if (target.scrollIntoView) target.scrollIntoView({ block: "center" });
}

// Problems about the options as a whole (["input", "options"]) or an option no input shows.
function optionsLeftover(error, keys) {
  if (!error || !error.problems) return null;
  const problems = error.problems.filter((p) => {
    const path = (p.inputPath || []).map(String);
    return path[0] === "input" && path[1] === "options" && (path.length === 2 || !keys.includes(path[2]));
  });
  return problems.length ? { ...error, problems } : null;
}

function errorMessages(error) {
  if (!error || !error.problems || !error.problems.length) return null;
  return html`<p class="field-error" role="alert">${error.problems.map((p) => p.message).join(" ")}</p>`;
}
