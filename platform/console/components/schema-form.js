// A form generated from a JSON Schema: strings, numbers, booleans, enums (selects), objects
// (nested fieldsets), arrays (rows to add and remove), and free JSON (a textarea) for what
// a schema leaves open. The value is plain JSON; an input emptied removes its key.
//
//   <${SchemaForm} schema=${schema} root=${rootSchemaForRefs} value=${obj}
//     onChange=${setObj} fields=${["object", "values"]} labelPrefix="Step 1"
//     problems=${[{message, inputPath: ["values", "x"]}]} renderers=${{values: (ctx) => …}} />
//
// problems: the server's problems, their inputPath relative to `value`; each shows next to
// the input it points at (or the closest one above it).
import { html, useEffect, useState } from "../vendor/preact-htm.js";

let counter = 0;
const nextId = () => `sf-${++counter}`;

// "timeout_seconds" → "Timeout seconds"
export function humanize(name) {
  const text = String(name).replace(/_/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// The schema `schema` stands for, its $ref followed in `root`.
export function resolve(schema, root) {
  let s = schema || {};
  for (let i = 0; s && s.$ref && i < 10; i++) {
    const parts = s.$ref.replace(/^#\//, "").split("/");
    s = parts.reduce((at, part) => (at ? at[part] : undefined), root) || {};
  }
  return s || {};
}

const same = (a, b) => a.length === b.length && a.every((x, i) => String(x) === String(b[i]));
const startsWith = (path, prefix) => prefix.length <= path.length && same(path.slice(0, prefix.length), prefix);

// Problems (paths relative to the form) under `path`, with their paths made relative to it.
export function problemsUnder(problems, path) {
  return (problems || [])
    .filter((p) => startsWith(p.inputPath || [], path))
    .map((p) => ({ ...p, inputPath: (p.inputPath || []).slice(path.length) }));
}

export function pathText(path) {
  return (path || []).reduce((text, part) => (typeof part === "number" || /^\d+$/.test(String(part))
    ? `${text}[${part}]` : text ? `${text}.${part}` : String(part)), "");
}

function kindOf(schema) {
  if (schema.enum) return "enum";
  const type = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (type.includes("boolean") && type.length === 1) return "boolean";
  if (type.includes("integer") && type.length === 1) return "integer";
  if (type.includes("number") && type.length === 1) return "number";
  if (type.includes("string") && type.includes("array")) return "string-or-list";
  if (type.includes("string")) return "string";
  if (type.includes("array")) return "array";
  if (type.includes("object") && schema.properties) return "object";
  return "json";
}

export function ProblemText({ problems, id }) {
  if (!problems || !problems.length) return null;
  return html`<p class="field-error" id=${id} role="alert">
    ${problems.map((p) => html`<span>${p.inputPath && p.inputPath.length ? html`<code>${pathText(p.inputPath)}</code> ` : null}${p.message} </span>`)}
  </p>`;
}

// A label whose accessible name starts with `prefix` (read by screen readers, not shown).
export function Label({ for: forId, prefix, text }) {
  return html`<label for=${forId}>${prefix ? html`<span class="sr-only">${prefix} </span>` : null}${text}</label>`;
}

// A textarea holding any JSON value; kept as typed until it parses.
export function JsonInput({ id, value, onChange, describedBy, rows = 4, placeholder }) {
  const shown = value === undefined ? "" : JSON.stringify(value, null, 2);
  const [text, setText] = useState(shown);
  const [bad, setBad] = useState(null);
  useEffect(() => {
    // follow changes made elsewhere unless the text typed already means the same
    let current;
    try { current = text.trim() ? JSON.parse(text) : undefined; } catch (e) { current = Symbol("bad"); }
    if (JSON.stringify(current) !== JSON.stringify(value)) { setText(shown); setBad(null); }
  }, [shown]);
  const input = (event) => {
    const next = event.target.value;
    setText(next);
    if (!next.trim()) { setBad(null); onChange(undefined); return; }
    try {
      const parsed = JSON.parse(next);
      setBad(null);
      onChange(parsed);
    } catch (error) {
      setBad("Not valid JSON yet: " + error.message);
    }
  };
  return html`
    <textarea id=${id} rows=${rows} spellcheck="false" placeholder=${placeholder}
      aria-invalid=${bad ? "true" : null} aria-describedby=${[describedBy, bad ? `${id}-json` : null].filter(Boolean).join(" ") || null}
      value=${text} onInput=${input}></textarea>
    ${bad ? html`<p class="field-error" id=${`${id}-json`}>${bad}</p>` : null}`;
}

// One property of a schema: its input, label, description and problems.
export function SchemaField({ name, schema, root, value, onChange, problems = [], labelPrefix = "", renderers = {}, label, required }) {
  const [id] = useState(nextId);
  const s = resolve(schema, root);
  const text = label || s.title || humanize(name);
  const kind = kindOf(s);
  const hint = s.description;
  const here = problems.filter((p) => (p.inputPath || []).length === 0 || kind === "json" || kind === "string-or-list");
  const describedBy = [hint ? `${id}-hint` : null, here.length ? `${id}-error` : null].filter(Boolean).join(" ") || null;
  const invalid = here.length > 0 ? "true" : null;
  const common = { id, "aria-describedby": describedBy, "aria-invalid": invalid, required };

  if (renderers[name]) {
    return renderers[name]({ id, name, schema: s, value, onChange, problems, labelPrefix, label: text, hint, describedBy });
  }
  if (kind === "object") {
    return html`<fieldset class="schema-object" data-field=${name}>
      <legend>${labelPrefix ? html`<span class="sr-only">${labelPrefix} </span>` : null}${text}</legend>
      ${hint ? html`<p class="hint">${hint}</p>` : null}
      <${SchemaForm} schema=${s} root=${root} value=${value || {}} problems=${problems}
        labelPrefix=${labelPrefix} renderers=${renderers}
        onChange=${(next) => onChange(Object.keys(next).length ? next : undefined)} />
      <${ProblemText} problems=${problems.filter((p) => !p.inputPath || !p.inputPath.length)} />
    </fieldset>`;
  }
  if (kind === "array") {
    return html`<${ArrayField} id=${id} name=${name} label=${text} schema=${s} root=${root} value=${value}
      onChange=${onChange} problems=${problems} labelPrefix=${labelPrefix} renderers=${renderers} hint=${hint} />`;
  }
  let input;
  if (kind === "enum") {
    input = html`<select ...${common} value=${value === undefined ? "" : String(value)}
      onChange=${(e) => {
        const picked = s.enum.find((option) => String(option) === e.target.value);
        onChange(e.target.value === "" ? undefined : picked);
      }}>
      <option value="">—</option>
      ${s.enum.map((option) => html`<option value=${String(option)}>${String(option)}</option>`)}
    </select>`;
  } else if (kind === "boolean") {
    return html`<div class="field checkbox" data-field=${name}>
      <label><input type="checkbox" ...${common} checked=${!!value}
        onChange=${(e) => onChange(e.target.checked ? true : undefined)} />
        ${labelPrefix ? html`<span class="sr-only">${labelPrefix} </span>` : null}${text}</label>
      ${hint ? html`<p class="hint" id=${`${id}-hint`}>${hint}</p>` : null}
      <${ProblemText} problems=${here} id=${`${id}-error`} />
    </div>`;
  } else if (kind === "integer" || kind === "number") {
    input = html`<input type="number" ...${common} step=${kind === "integer" ? 1 : "any"}
      min=${s.minimum} max=${s.maximum} value=${value === undefined ? "" : value}
      onInput=${(e) => {
        const raw = e.target.value;
        if (raw === "") return onChange(undefined);
        const number = Number(raw);
        if (!Number.isNaN(number)) onChange(number);
      }} />`;
  } else if (kind === "string-or-list") {
    const shown = Array.isArray(value) ? value.join(", ") : value === undefined ? "" : String(value);
    input = html`<input type="text" ...${common} value=${shown}
      onInput=${(e) => onChange(e.target.value === "" ? undefined : e.target.value)} />`;
  } else if (kind === "string") {
    const long = /body|html|text/i.test(name) || s.format === "textarea";
    input = long
      ? html`<textarea ...${common} rows="4" value=${value || ""}
          onInput=${(e) => onChange(e.target.value === "" ? undefined : e.target.value)}></textarea>`
      : html`<input type="text" ...${common} value=${value === undefined ? "" : value}
          onInput=${(e) => onChange(e.target.value === "" ? undefined : e.target.value)} />`;
  } else {
    input = html`<${JsonInput} id=${id} value=${value} onChange=${onChange} describedBy=${describedBy} />`;
  }
  const shownLabel = kind === "json" ? `${text} (JSON)` : text;
  return html`<div class=${"field" + (here.length ? " invalid" : "")} data-field=${name}>
    <${Label} for=${id} prefix=${labelPrefix} text=${shownLabel} />
    ${input}
    ${hint ? html`<p class="hint" id=${`${id}-hint`}>${hint}</p>` : null}
    <${ProblemText} problems=${here} id=${`${id}-error`} />
  </div>`;
}

// An array: one row per item (each a SchemaField of the items' schema), add and remove.
function ArrayField({ id, name, label, schema, root, value, onChange, problems, labelPrefix, renderers, hint }) {
  const items = Array.isArray(value) ? value : [];
  const itemSchema = resolve(schema.items || {}, root);
  const set = (next) => onChange(next.length ? next : undefined);
  const blank = () => {
    const kind = kindOf(itemSchema);
    return kind === "object" ? {} : kind === "boolean" ? false : kind === "integer" || kind === "number" ? 0 : kind === "array" ? [] : "";
  };
  return html`<fieldset class="schema-array" data-field=${name}>
    <legend>${labelPrefix ? html`<span class="sr-only">${labelPrefix} </span>` : null}${label}</legend>
    ${hint ? html`<p class="hint">${hint}</p>` : null}
    ${items.length === 0 ? html`<p class="muted">None yet.</p>` : null}
    <ol class="schema-rows">
      ${items.map((item, i) => html`<li class="row" key=${i}>
        <div class="grow">
          <${SchemaField} name=${`${name}_${i + 1}`} label=${`${label} ${i + 1}`} schema=${itemSchema} root=${root}
            value=${item} labelPrefix=${labelPrefix} renderers=${renderers}
            problems=${problemsUnder(problems, [i])}
            onChange=${(v) => set(items.map((x, j) => (j === i ? (v === undefined ? blank() : v) : x)))} />
        </div>
        <button type="button" aria-label=${`${labelPrefix ? labelPrefix + " " : ""}Remove ${label} ${i + 1}`}
          onClick=${() => set(items.filter((_, j) => j !== i))}>Remove</button>
      </li>`)}
    </ol>
    <button type="button" onClick=${() => set([...items, blank()])}>
      ${labelPrefix ? html`<span class="sr-only">${labelPrefix} </span>` : null}Add ${label.toLowerCase()}</button>
    <${ProblemText} problems=${problems.filter((p) => !p.inputPath || !p.inputPath.length)} />
  </fieldset>`;
}

// The properties of an object schema (or only `fields`, in that order) as inputs.
export default function SchemaForm({ schema, root, value, onChange, fields, problems = [], labelPrefix = "", renderers = {} }) {
  const s = resolve(schema, root || schema);
  const props = s.properties || {};
  const names = fields || Object.keys(props);
  const current = value || {};
  const required = new Set(s.required || []);
  const set = (name, v) => {
    const next = { ...current };
    if (v === undefined) delete next[name];
    else next[name] = v;
    onChange(next);
  };
  return html`<div class="schema-form">
    ${names.filter((n) => props[n] || renderers[n]).map((name) => html`<${SchemaField} key=${name} name=${name}
      schema=${props[name] || {}} root=${root || schema} value=${current[name]} required=${required.has(name)}
      problems=${problemsUnder(problems, [name])} labelPrefix=${labelPrefix} renderers=${renderers}
      onChange=${(v) => set(name, v)} />`)}
  </div>`;
}

export { SchemaForm };
