// Records as the metadata describes them: GraphQL names and selections generated per object,
// a display per field type (FieldValue) and an input per field type (FieldInput), and the
// conversions between record values, form values and mutation inputs.
import { html, useEffect, useRef, useState } from "../vendor/preact-htm.js";
import { metadata, records } from "../api.js";
import { href } from "../router.js";
import { when } from "./ui.js";

// ---------------------------------------------------------------- names and metadata

export const pascal = (name) => name.split("_").map((p) => p.charAt(0).toUpperCase() + p.slice(1).toLowerCase()).join("");
export const camel = (name) => {
  const [head, ...rest] = name.split("_");
  return head + rest.map((p) => p.charAt(0).toUpperCase() + p.slice(1).toLowerCase()).join("");
};

// The generated GraphQL names of an object (docs/record-api.md, "The generated schema").
export function gqlNames(object) {
  const type = pascal(object.apiName);
  return {
    type,
    single: camel(object.apiName),
    plural: camel(object.pluralApiName),
    filter: `${type}Filter`,
    orderBy: `${type}OrderBy`,
    input: `${type}Input`,
    create: `create${type}`,
    update: `update${type}`,
    remove: `delete${type}`,
  };
}

// System fields every record has, described like metadata fields.
export const SYSTEM_FIELDS = [
  { apiName: "created_at", label: "Created", type: "datetime", system: true, options: {} },
  { apiName: "updated_at", label: "Last modified", type: "datetime", system: true, options: {} },
  { apiName: "owner", label: "Owner", type: "user", system: true, options: {} },
  { apiName: "created_by", label: "Created by", type: "user", system: true, options: {} },
  { apiName: "updated_by", label: "Modified by", type: "user", system: true, options: {} },
];

export const TEXT_TYPES = ["text", "long_text", "email", "phone", "url", "auto_number"];

const OBJECTS_QUERY = `{ objects { apiName pluralApiName labelSingular labelPlural description
  fields { apiName label type required unique default helpText options }
  relations { name sourceObject sourceField } } }`;

let cache = null;
// Every object with its fields and relations: {list, byName}. Screens ask for it fresh when
// they open (fresh: true); their components share that answer for a few seconds.
export function loadObjects(fresh = false) {
  if (fresh || !cache || Date.now() - cache.at > 5000) {
    const promise = metadata(OBJECTS_QUERY).then((data) => ({
      list: data.objects,
      byName: Object.fromEntries(data.objects.map((o) => [o.apiName, o])),
    }));
    const entry = { at: Date.now(), promise };
    cache = entry;
    promise.catch(() => cache === entry && (cache = null));
  }
  return cache.promise;
}

// Users by id ({id: name}) when the signed-in user may list them; {} otherwise.
let usersPromise = null;
export function loadUsers() {
  if (!usersPromise) {
    usersPromise = metadata("{ users { id name email } }").then(
      (data) => Object.fromEntries(data.users.map((u) => [u.id, u.name || u.email])),
      () => ({}),
    );
  }
  return usersPromise;
}

// The field that names a record: name/title/subject, else the first required text field,
// else the first text field, else an auto-number. null: the id names it.
export function nameField(object) {
  if (!object) return null;
  const fields = object.fields || [];
  const text = fields.filter((f) => f.type === "text");
  return (
    text.find((f) => ["name", "title", "subject", "label"].includes(f.apiName)) ||
    text.find((f) => f.required) ||
    text[0] ||
    fields.find((f) => TEXT_TYPES.includes(f.type)) ||
    null
  );
}

// The fields shown together as a record's title (a person's first and last names).
export function titleFields(object) {
  const main = nameField(object);
  if (!main) return [];
  const first = (object.fields || []).find((f) => f.apiName === "first_name" && f.type === "text");
  return main.apiName === "last_name" && first ? [first, main] : [main];
}

export function recordTitle(object, node) {
  if (!node) return "";
  const parts = titleFields(object).map((f) => node[f.apiName]).filter((v) => v !== null && v !== undefined && v !== "");
  return parts.length ? parts.join(" ") : `${object ? object.labelSingular : "Record"} ${String(node.id || "").slice(0, 8)}`;
}

// The GraphQL selection of one field (lookups select their target's id and title fields).
export function selection(field, objects) {
  const name = field.apiName;
  switch (field.type) {
    case "select":
    case "multi_select":
      return `${name} { value label color }`;
    case "currency":
      return `${name} { amount currencyCode }`;
    case "lookup": {
      const target = objects && objects.byName[field.options && field.options.target_object];
      const titles = titleFields(target).map((f) => f.apiName);
      return `${name} { id ${titles.join(" ")} }`;
    }
    default:
      return name;
  }
}

export function fieldsOf(object, { system = false } = {}) {
  return system ? [...object.fields, ...SYSTEM_FIELDS] : object.fields;
}

export function findField(object, apiName) {
  return fieldsOf(object, { system: true }).find((f) => f.apiName === apiName) || null;
}

export function choices(field) {
  return (field.options && field.options.choices) || [];
}

// ---------------------------------------------------------------- display

function Swatch({ color }) {
  return color ? html`<span class="swatch" style=${`background:${color}`} aria-hidden="true"></span>` : null;
}

function OptionBadge({ option }) {
  return html`<span class="badge option-badge" style=${option.color ? `border-color:${option.color}` : ""}>
    <${Swatch} color=${option.color} />${option.label || option.value}</span>`;
}

function formatNumber(value, { fraction } = {}) {
  if (value === null || value === undefined || value === "") return "";
  const n = Number(value);
  if (Number.isNaN(n)) return String(value);
  const digits = fraction !== undefined ? fraction : String(value).includes(".") ? String(value).split(".")[1].length : 0;
  return n.toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function formatDate(value) {
  if (!value) return "";
  const [y, m, d] = String(value).split("-").map(Number);
  const date = new Date(y, (m || 1) - 1, d || 1);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleDateString();
}

// An option object ({value,label,color}) for a value that may be a bare option value
// (history entries and saved filters hold bare values).
function optionOf(field, value) {
  if (value && typeof value === "object") return value;
  const found = choices(field).find((c) => c.value === value);
  return found || { value, label: String(value), color: null };
}

// The display of one value of a field. `objects` (from loadObjects) names lookup targets;
// `users` (from loadUsers) names owners.
export function FieldValue({ field, value, objects, users }) {
  if (value === null || value === undefined || value === "" || (Array.isArray(value) && !value.length)) {
    return html`<span class="muted empty-value">—</span>`;
  }
  switch (field.type) {
    case "long_text":
      return html`<span class="long-text">${String(value)}</span>`;
    case "integer":
      return html`<span class="num">${formatNumber(value, { fraction: 0 })}</span>`;
    case "decimal":
      return html`<span class="num">${formatNumber(value)}</span>`;
    case "percent":
      return html`<span class="num">${formatNumber(value)} %</span>`;
    case "currency": {
      const amount = typeof value === "object" ? value.amount : value;
      const code = typeof value === "object" ? value.currencyCode || value.currency_code : "";
      let text;
      try {
        text = code
          ? Number(amount).toLocaleString(undefined, { style: "currency", currency: code })
          : formatNumber(amount);
      } catch (error) {
        text = `${formatNumber(amount)} ${code}`;
      }
      return html`<span class="num" title=${`${amount} ${code}`}>${text}</span>`;
    }
    case "boolean":
      return html`<span>${value ? "Yes" : "No"}</span>`;
    case "date":
      return html`<time datetime=${value}>${formatDate(value)}</time>`;
    case "datetime":
      return html`<time datetime=${value}>${when(value)}</time>`;
    case "email":
      return html`<a href=${`mailto:${value}`}>${value}</a>`;
    case "phone":
      return html`<a href=${`tel:${value}`}>${value}</a>`;
    case "url":
      return html`<a href=${value} target="_blank" rel="noopener noreferrer">${value}</a>`;
    case "select":
      return html`<${OptionBadge} option=${optionOf(field, value)} />`;
    case "multi_select":
      return html`<span class="option-list">${(Array.isArray(value) ? value : [value]).map(
        (v) => html`<${OptionBadge} option=${optionOf(field, v)} />`,
      )}</span>`;
    case "lookup": {
      const targetName = field.options && field.options.target_object;
      const target = objects && objects.byName[targetName];
      const id = typeof value === "object" ? value.id : value;
      const label = typeof value === "object" ? recordTitle(target, value) : String(value).slice(0, 8) + "…";
      return html`<a href=${href(`/records/${targetName}/${id}`)}>${label}</a>`;
    }
    case "json":
      return html`<pre class="json-value">${JSON.stringify(value, null, 2)}</pre>`;
    case "user":
      return html`<span title=${value}>${(users && users[value]) || String(value).slice(0, 8) + "…"}</span>`;
    default:
      return html`<span>${typeof value === "object" ? JSON.stringify(value) : String(value)}</span>`;
  }
}

// ---------------------------------------------------------------- form values

const pad = (n) => String(n).padStart(2, "0");

// A UTC ISO datetime as a datetime-local input value (the browser's time zone).
export function toLocalInput(value) {
  if (!value) return "";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// The form value of a record value (what FieldInput edits).
export function formValue(field, value) {
  switch (field.type) {
    case "boolean":
      return Boolean(value);
    case "currency":
      return value && typeof value === "object"
        ? { amount: value.amount ?? "", currencyCode: value.currencyCode || value.currency_code || "" }
        : { amount: value === null || value === undefined ? "" : String(value), currencyCode: (field.options && field.options.default_currency) || "" };
    case "select":
      return value && typeof value === "object" ? value.value : value ?? "";
    case "multi_select":
      return Array.isArray(value) ? value.map((v) => (v && typeof v === "object" ? v.value : v)) : [];
    case "lookup":
      return value && typeof value === "object" ? value : value ? { id: value } : null;
    case "json":
      return value === null || value === undefined ? "" : JSON.stringify(value, null, 2);
    case "datetime":
      return toLocalInput(value);
    case "integer":
    case "decimal":
    case "percent":
      return value === null || value === undefined ? "" : String(value);
    default:
      return value ?? "";
  }
}

// The form value a new record starts with: the field's default.
export function defaultFormValue(field) {
  if (field.default === null || field.default === undefined) return formValue(field, null);
  if (field.type === "datetime" && typeof field.default === "string" && !/^\d{4}-/.test(field.default)) return "";
  if (field.type === "date" && typeof field.default === "string" && !/^\d{4}-/.test(field.default)) return "";
  return formValue(field, field.default);
}

// A client-side problem, shaped like the server's.
export class InputProblem extends Error {
  constructor(message, code = "INVALID_VALUE") {
    super(message);
    this.code = code;
  }
}

// The mutation input value of a form value; throws InputProblem when it cannot be one.
export function inputValue(field, value) {
  switch (field.type) {
    case "boolean":
      return Boolean(value);
    case "integer": {
      if (value === "" || value === null || value === undefined) return null;
      const n = Number(value);
      if (!Number.isInteger(n)) throw new InputProblem(`'${value}' is not a whole number.`, "TYPE_MISMATCH");
      return n;
    }
    case "decimal":
    case "percent":
      return value === "" || value === null || value === undefined ? null : String(value).trim();
    case "currency":
      if (!value || value.amount === "" || value.amount === null || value.amount === undefined) return null;
      return { amount: String(value.amount).trim(), currencyCode: (value.currencyCode || "").trim().toUpperCase() || null };
    case "select":
      return value === "" || value === undefined ? null : value;
    case "multi_select":
      return Array.isArray(value) ? value : [];
    case "lookup":
      return value && value.id ? value.id : null;
    case "json":
      if (value === "" || value === null || value === undefined) return null;
      try {
        return JSON.parse(value);
      } catch (error) {
        throw new InputProblem(`This is not valid JSON: ${error.message}`, "INVALID_JSON");
      }
    case "datetime": {
      if (!value) return null;
      const d = new Date(value);
      if (Number.isNaN(d.getTime())) throw new InputProblem(`'${value}' is not a date and time.`, "INVALID_DATETIME");
      return d.toISOString();
    }
    case "date":
      return value || null;
    default:
      return value === "" || value === undefined ? null : value;
  }
}

// Hints from the field's settings: required, maximum length, range, help text.
export function fieldHint(field) {
  const o = field.options || {};
  const parts = [];
  if (field.required) parts.push("Required.");
  if (field.helpText) parts.push(field.helpText);
  if (o.max_length && field.type !== "long_text") parts.push(`At most ${o.max_length} characters.`);
  const min = o.min_value ?? null;
  const max = o.max_value ?? null;
  if (min !== null && max !== null) parts.push(`From ${min} to ${max}.`);
  else if (min !== null) parts.push(`At least ${min}.`);
  else if (max !== null) parts.push(`At most ${max}.`);
  if (field.type === "json") parts.push("JSON.");
  return parts.join(" ") || null;
}

function numberStep(field) {
  if (field.type === "integer") return "1";
  const scale = field.options && field.options.scale;
  return scale ? String(10 ** -scale) : "any";
}

// ---------------------------------------------------------------- inputs

// One input for a field. `value` is a form value (formValue); onChange gets the next one.
// id/describedBy/invalid come from ui.js Field, so the <label> names the input.
export function FieldInput({ field, value, onChange, id, describedBy, invalid, objects }) {
  const o = field.options || {};
  const common = {
    id,
    name: field.apiName,
    "aria-describedby": describedBy || undefined,
    "aria-invalid": invalid ? "true" : undefined,
    "aria-required": field.required ? "true" : undefined,
  };
  const text = (type, extra = {}) => html`<input type=${type} ...${common} ...${extra}
    value=${value ?? ""} onInput=${(e) => onChange(e.target.value)} />`;
  switch (field.type) {
    case "long_text":
      return html`<textarea ...${common} class="long-text-input" maxlength=${o.max_length || undefined}
        value=${value ?? ""} onInput=${(e) => onChange(e.target.value)}></textarea>`;
    case "integer":
    case "decimal":
    case "percent":
      return text("number", {
        step: numberStep(field),
        min: o.min_value ?? undefined,
        max: o.max_value ?? undefined,
        inputmode: field.type === "integer" ? "numeric" : "decimal",
      });
    case "email":
      return text("email", { autocomplete: "off" });
    case "phone":
      return text("tel");
    case "url":
      return text("url", { placeholder: "https://" });
    case "date":
      return text("date");
    case "datetime":
      return text("datetime-local");
    case "boolean":
      return html`<input type="checkbox" ...${common} checked=${Boolean(value)}
        onChange=${(e) => onChange(e.target.checked)} />`;
    case "currency": {
      const v = value || { amount: "", currencyCode: "" };
      const allowed = o.allowed_currencies;
      return html`<span class="currency-input">
        <input type="number" step=${numberStep(field)} inputmode="decimal" ...${common}
          value=${v.amount} onInput=${(e) => onChange({ ...v, amount: e.target.value })} />
        ${allowed && allowed.length
          ? html`<select aria-label="Currency code" title="Currency code" value=${v.currencyCode || o.default_currency || allowed[0]}
              onChange=${(e) => onChange({ ...v, currencyCode: e.target.value })}>
              ${allowed.map((c) => html`<option value=${c}>${c}</option>`)}</select>`
          : html`<input type="text" class="currency-code" aria-label="Currency code" title="Currency code" maxlength="3"
              size="4" placeholder=${o.default_currency || "EUR"} value=${v.currencyCode}
              onInput=${(e) => onChange({ ...v, currencyCode: e.target.value.toUpperCase() })} />`}
      </span>`;
    }
    case "select":
      return html`<select ...${common} value=${value ?? ""} onChange=${(e) => onChange(e.target.value)}>
        <option value="">—</option>
        ${choices(field)
          .filter((c) => !c.retired || c.value === value)
          .map((c) => html`<option value=${c.value}>${c.label}</option>`)}
      </select>`;
    case "multi_select": {
      const selected = Array.isArray(value) ? value : [];
      const toggle = (v, on) => onChange(on ? [...selected.filter((x) => x !== v), v] : selected.filter((x) => x !== v));
      return html`<div class="checkbox-group" role="group" id=${id} aria-label=${field.label}
          aria-describedby=${describedBy || undefined}>
        ${choices(field)
          .filter((c) => !c.retired || selected.includes(c.value))
          .map((c) => html`<label class="checkbox">
            <input type="checkbox" name=${field.apiName} value=${c.value} checked=${selected.includes(c.value)}
              onChange=${(e) => toggle(c.value, e.target.checked)} />
            <${Swatch} color=${c.color} />${c.label}</label>`)}
      </div>`;
    }
    case "lookup":
      return html`<${LookupPicker} field=${field} value=${value} onChange=${onChange} objects=${objects} common=${common} />`;
    case "json":
      return html`<textarea ...${common} class="json-input" spellcheck="false"
        value=${value ?? ""} onInput=${(e) => onChange(e.target.value)}></textarea>`;
    default:
      return text("text", { maxlength: o.max_length || undefined });
  }
}

// Records of `object` whose title contains `text` (the filter language's `contains`).
export async function searchRecords(object, objects, text, first = 8) {
  const names = gqlNames(object);
  const titles = titleFields(object);
  const filter = text && titles.length
    ? titles.length > 1
      ? { or: titles.map((f) => ({ [f.apiName]: { contains: text } })) }
      : { [titles[0].apiName]: { contains: text } }
    : null;
  const order = titles.length ? `, orderBy: [{${titles[titles.length - 1].apiName}: ASC}]` : "";
  const data = await records(
    `query($filter: ${names.filter}) { ${names.plural}(filter: $filter, first: ${first}${order}) {
      totalCount edges { node { id ${titles.map((f) => f.apiName).join(" ")} } } } }`,
    { filter },
  );
  return data[names.plural];
}

let pickerCount = 0;

// Search-as-you-type over the lookup's target records; value: {id, …title fields} or null.
export function LookupPicker({ field, value, onChange, objects, common = {}, id }) {
  const targetName = field.options && field.options.target_object;
  const target = objects && objects.byName[targetName];
  const [text, setText] = useState(value ? recordTitle(target, value) : "");
  const [open, setOpen] = useState(false);
  const [results, setResults] = useState([]);
  const [active, setActive] = useState(-1);
  const [error, setError] = useState(null);
  const listId = useRef(`lookup-list-${++pickerCount}`).current;
  const seq = useRef(0);

  // Show the chosen record's title (it may arrive after the first render).
  // A value that is only an id (a prefilled form, a saved filter): fetch its title.
  const [fetched, setFetched] = useState(null);
  const bare = Boolean(value && value.id && Object.keys(value).length === 1);
  useEffect(() => {
    if (!bare || !target) return;
    const names = gqlNames(target);
    const titles = titleFields(target).map((f) => f.apiName).join(" ");
    records(`query($id: ID!) { ${names.single}(id: $id) { id ${titles} } }`, { id: value.id }).then(
      (data) => data[names.single] && setFetched(data[names.single]),
      () => {},
    );
  }, [bare && value.id, target]);
  const shownValue = bare && fetched && fetched.id === value.id ? fetched : value;
  const chosenTitle = shownValue ? recordTitle(target, shownValue) : null;
  useEffect(() => {
    if (chosenTitle !== null && !open) setText(chosenTitle);
  }, [chosenTitle]);

  useEffect(() => {
    if (!open || !target) return undefined;
    const mine = ++seq.current;
    const timer = setTimeout(() => {
      searchRecords(target, objects, text.trim()).then(
        (conn) => mine === seq.current && (setResults(conn.edges.map((e) => e.node)), setError(null), setActive(-1)),
        (failure) => mine === seq.current && setError(failure),
      );
    }, 200);
    return () => clearTimeout(timer);
  }, [text, open, target]);

  function pick(node) {
    onChange(node);
    setText(recordTitle(target, node));
    setOpen(false);
  }
  function keyDown(e) {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      if (!open) setOpen(true);
      setActive((a) => Math.min(a + 1, results.length - 1));
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      setActive((a) => Math.max(a - 1, 0));
    } else if (e.key === "Enter" && open) {
      e.preventDefault();
      if (active >= 0 && results[active]) pick(results[active]);
    } else if (e.key === "Escape" && open) {
      e.preventDefault();
      setOpen(false);
    }
  }
  const inputId = common.id || id;
  return html`<div class="lookup-picker">
    <div class="row">
      <input type="text" role="combobox" autocomplete="off" ...${common} id=${inputId}
        aria-expanded=${open ? "true" : "false"} aria-controls=${listId} aria-autocomplete="list"
        aria-activedescendant=${open && active >= 0 ? `${listId}-${active}` : undefined}
        placeholder=${target ? `Search ${target.labelPlural.toLowerCase()}…` : "Search…"}
        value=${text}
        onInput=${(e) => {
          setText(e.target.value);
          setOpen(true);
          if (value) onChange(null);
        }}
        onFocus=${() => setOpen(true)}
        onBlur=${() => setTimeout(() => {
          setOpen(false);
          if (!value) setText("");
        }, 150)}
        onKeyDown=${keyDown} />
      ${value
        ? html`<a href=${href(`/records/${targetName}/${value.id}`)} class="small" title="Open the linked record">Open</a>
            <button type="button" class="small"
              onClick=${() => (onChange(null), setText(""))}>Clear<span class="visually-hidden"> ${field.label}</span></button>`
        : null}
    </div>
    ${open
      ? html`<ul class="lookup-results" role="listbox" id=${listId}>
          ${error ? html`<li class="field-error">${error.message}</li>` : null}
          ${!error && !results.length ? html`<li class="muted">No matches</li>` : null}
          ${results.map((node, i) => html`<li role="option" id=${`${listId}-${i}`}
              aria-selected=${i === active ? "true" : "false"} class=${i === active ? "active" : ""}
              onMouseDown=${(e) => (e.preventDefault(), pick(node))}>${recordTitle(target, node)}</li>`)}
        </ul>`
      : null}
  </div>`;
}
