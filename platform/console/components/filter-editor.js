// A visual editor of Tessera's filter language (docs/filters.md): rows of
// (field, operator, value) combined with "all" (and) or "any" (or).
//
//   <${FilterEditor} object=${objectMetadata} value=${filterJson} onChange=${setFilterJson} />
//
// `object` is a metadata object with its fields ({apiName, label, type, options}); `value`
// the filter JSON (null or {} for none); onChange receives the new filter JSON (null when
// there is no condition). Conditions the rows cannot show (relations, `not`, nested
// groups) are kept as they are, shown as JSON, and can be removed.
import { html, useEffect, useMemo, useRef, useState } from "../vendor/preact-htm.js";
import { LookupPicker, loadObjects, recordTitle } from "./record-fields.js";

const TEXT = ["text", "long_text", "email", "phone", "url", "auto_number"];
const NUMBER = ["integer", "decimal", "percent"];

// Operators by field type: [key, label, operand]. Keys are the filter language's operators,
// except isNull:true / isNull:false (two choices of one operator), currency parts
// ("amount.gte", "currencyCode.eq") and a lookup's "id.eq" / "title.contains".
const OPS = {
  text: [
    ["contains", "contains", "pattern"], ["eq", "is", "value"], ["neq", "is not", "value"],
    ["startsWith", "starts with", "pattern"], ["in", "is one of", "values"], ["notIn", "is none of", "values"],
    ["ilike", "matches (% any text, case-insensitive)", "pattern"], ["like", "matches (case-sensitive)", "pattern"],
    ["lt", "before (A→Z)", "value"], ["gt", "after (A→Z)", "value"],
  ],
  number: [
    ["eq", "=", "value"], ["neq", "≠", "value"], ["gt", ">", "value"], ["gte", "≥", "value"],
    ["lt", "<", "value"], ["lte", "≤", "value"], ["between", "between", "range"],
    ["in", "is one of", "values"], ["notIn", "is none of", "values"],
  ],
  currency: [
    ["amount.eq", "amount =", "value"], ["amount.neq", "amount ≠", "value"], ["amount.gt", "amount >", "value"],
    ["amount.gte", "amount ≥", "value"], ["amount.lt", "amount <", "value"], ["amount.lte", "amount ≤", "value"],
    ["amount.between", "amount between", "range"], ["currencyCode.eq", "currency is", "code"],
    ["currencyCode.neq", "currency is not", "code"],
  ],
  boolean: [["eq", "is", "bool"], ["neq", "is not", "bool"]],
  date: [
    ["eq", "is", "value"], ["neq", "is not", "value"], ["lt", "before", "value"], ["lte", "on or before", "value"],
    ["gt", "after", "value"], ["gte", "on or after", "value"], ["between", "between", "range"],
    ["within", "within", "period"], ["lastNDays", "in the last N days", "count"], ["nextNDays", "in the next N days", "count"],
  ],
  select: [["eq", "is", "value"], ["neq", "is not", "value"], ["in", "is one of", "values"], ["notIn", "is none of", "values"]],
  multi_select: [["containsAny", "has any of", "values"], ["containsAll", "has all of", "values"]],
  lookup: [["id.eq", "is", "record"], ["id.neq", "is not", "record"], ["title.contains", "name contains", "pattern"]],
  json: [],
};
const EMPTY_OPS = [["isNull:true", "is empty", "none"], ["isNull:false", "is not empty", "none"]];

export const PERIODS = [
  "TODAY", "YESTERDAY", "TOMORROW", "THIS_WEEK", "LAST_WEEK", "NEXT_WEEK", "THIS_MONTH", "LAST_MONTH",
  "NEXT_MONTH", "THIS_QUARTER", "LAST_QUARTER", "NEXT_QUARTER", "THIS_YEAR", "LAST_YEAR", "NEXT_YEAR",
];
const periodLabel = (p) => p.charAt(0) + p.slice(1).toLowerCase().replace(/_/g, " ");

const SYSTEM = [
  { apiName: "created_at", label: "Created", type: "datetime", options: {} },
  { apiName: "updated_at", label: "Last modified", type: "datetime", options: {} },
];

function group(type) {
  if (TEXT.includes(type)) return "text";
  if (NUMBER.includes(type)) return "number";
  if (type === "datetime") return "date";
  return OPS[type] ? type : "json";
}

export function operatorsFor(field) {
  if (!field) return [];
  let ops = OPS[group(field.type)];
  if (field.type === "datetime") ops = ops.filter(([k]) => k !== "in" && k !== "notIn");
  return [...ops, ...EMPTY_OPS];
}

function titleField(target) {
  if (!target) return "name";
  const text = target.fields.filter((f) => f.type === "text");
  const f = text.find((x) => ["name", "title", "subject", "label"].includes(x.apiName)) || text.find((x) => x.required) || text[0];
  return f ? f.apiName : "id";
}

// ------------------------------------------------------------ JSON ⇄ rows

let rowKeys = 0;
const newKey = () => `r${++rowKeys}`;

// One condition {field: {op: operand}} → a row, or null when no row can show it.
function conditionToRow(cond, fieldsByName, objects) {
  const keys = Object.keys(cond || {});
  if (keys.length !== 1) return null;
  const name = keys[0];
  const field = fieldsByName[name];
  const body = cond[name];
  if (!field || !body || typeof body !== "object" || Array.isArray(body)) return null;
  const opKeys = Object.keys(body);
  if (opKeys.length !== 1) return null;
  const op = opKeys[0];
  const operand = body[op];
  if (op === "isNull") return { key: newKey(), field: name, op: `isNull:${operand ? "true" : "false"}`, value: null };
  if (field.type === "currency") {
    if ((op === "amount" || op === "currencyCode") && operand && typeof operand === "object") {
      const inner = Object.keys(operand);
      if (inner.length === 1) return { key: newKey(), field: name, op: `${op}.${inner[0]}`, value: operand[inner[0]] };
    }
    return null;
  }
  if (field.type === "lookup") {
    const target = objects && objects.byName[(field.options || {}).target_object];
    if (op === "id" && operand && typeof operand === "object") {
      const inner = Object.keys(operand);
      if (inner.length === 1 && ["eq", "neq"].includes(inner[0]))
        return { key: newKey(), field: name, op: `id.${inner[0]}`, value: operand[inner[0]] ? { id: operand[inner[0]] } : null };
    }
    if (op === titleField(target) && operand && typeof operand === "object" && Object.keys(operand).length === 1 && "contains" in operand) {
      return { key: newKey(), field: name, op: "title.contains", value: operand.contains };
    }
    return null;
  }
  if (!operatorsFor(field).some(([k]) => k === op)) return null;
  return { key: newKey(), field: name, op, value: operand };
}

// The filter JSON → {mode: "and"|"or", rows}. Unknown conditions become {raw} rows.
function parse(value, fieldsByName, objects) {
  const rows = [];
  let mode = "and";
  if (!value || typeof value !== "object" || !Object.keys(value).length) return { mode, rows };
  let parts;
  const keys = Object.keys(value);
  if (keys.length === 1 && (keys[0] === "and" || keys[0] === "or") && Array.isArray(value[keys[0]])) {
    mode = keys[0];
    parts = value[keys[0]];
  } else {
    // Several keys of one object are ANDed: one row each.
    parts = keys.map((k) => ({ [k]: value[k] }));
  }
  for (const part of parts) {
    const row = conditionToRow(part, fieldsByName, objects);
    rows.push(row || { key: newKey(), raw: part });
  }
  return { mode, rows };
}

function complete(row, field) {
  if (row.raw) return true;
  if (!field || !row.op) return false;
  const operand = (operatorsFor(field).find(([k]) => k === row.op) || [])[2];
  const v = row.value;
  switch (operand) {
    case "none":
      return true;
    case "values":
      return Array.isArray(v) && v.length > 0;
    case "range":
      return Array.isArray(v) && v.length === 2 && v.every((x) => x !== "" && x !== null && x !== undefined);
    case "record":
      return Boolean(v && v.id);
    case "bool":
      return typeof v === "boolean";
    default:
      return v !== "" && v !== null && v !== undefined;
  }
}

function convert(field, v) {
  if (field.type === "integer" && v !== "" && v !== null && !Number.isNaN(Number(v))) return Number(v);
  return v;
}

function rowToCondition(row, field, objects) {
  if (row.raw) return row.raw;
  const name = row.field;
  if (row.op.startsWith("isNull:")) return { [name]: { isNull: row.op === "isNull:true" } };
  if (field.type === "currency") {
    const [part, op] = row.op.split(".");
    const v = Array.isArray(row.value) ? row.value.map(String) : String(row.value);
    return { [name]: { [part]: { [op]: part === "currencyCode" ? String(row.value).toUpperCase() : v } } };
  }
  if (field.type === "lookup") {
    if (row.op.startsWith("id.")) return { [name]: { id: { [row.op.slice(3)]: row.value.id } } };
    const target = objects && objects.byName[(field.options || {}).target_object];
    return { [name]: { [titleField(target)]: { contains: row.value } } };
  }
  let v = row.value;
  if (Array.isArray(v)) v = v.map((x) => convert(field, x));
  else if (row.op === "lastNDays" || row.op === "nextNDays") v = Number(v);
  else v = convert(field, v);
  return { [name]: { [row.op]: v } };
}

function build(mode, rows, fieldsByName, objects) {
  const conds = rows
    .filter((r) => complete(r, fieldsByName[r.field]))
    .map((r) => rowToCondition(r, fieldsByName[r.field], objects));
  if (!conds.length) return null;
  if (conds.length === 1) return conds[0];
  return { [mode]: conds };
}

// ------------------------------------------------------------ value inputs

function splitList(text) {
  return String(text).split(",").map((s) => s.trim()).filter(Boolean);
}

function ValueInput({ field, op, operand, value, onChange, objects, label }) {
  const choicesOf = (field.options && field.options.choices) || [];
  const isDate = field.type === "date" || field.type === "datetime";
  const scalarType = NUMBER.includes(field.type) || (field.type === "currency" && op.startsWith("amount")) ? "number" : "text";
  const placeholder = isDate ? (field.type === "date" ? "2026-11-23 or today" : "2026-11-23T10:00Z or today") : "";
  switch (operand) {
    case "none":
      return null;
    case "bool":
      return html`<select aria-label=${label} value=${value === true ? "true" : value === false ? "false" : ""}
          onChange=${(e) => onChange(e.target.value === "" ? null : e.target.value === "true")}>
        <option value="">Choose…</option><option value="true">Yes</option><option value="false">No</option>
      </select>`;
    case "period":
      return html`<select aria-label=${label} value=${value || ""} onChange=${(e) => onChange(e.target.value)}>
        <option value="">Choose…</option>
        ${PERIODS.map((p) => html`<option value=${p}>${periodLabel(p)}</option>`)}
      </select>`;
    case "count":
      return html`<input type="number" min="0" step="1" aria-label=${label} value=${value ?? ""} class="narrow"
        onInput=${(e) => onChange(e.target.value === "" ? "" : Number(e.target.value))} />`;
    case "range": {
      const [low, high] = Array.isArray(value) ? value : ["", ""];
      return html`<span class="row range-input">
        <input type=${scalarType} step="any" aria-label=${`${label}: from`} placeholder=${placeholder} value=${low ?? ""}
          onInput=${(e) => onChange([e.target.value, high ?? ""])} />
        <span>and</span>
        <input type=${scalarType} step="any" aria-label=${`${label}: to`} placeholder=${placeholder} value=${high ?? ""}
          onInput=${(e) => onChange([low ?? "", e.target.value])} />
      </span>`;
    }
    case "record":
      return html`<span class="filter-lookup"><${LookupPicker} field=${field} value=${value} objects=${objects}
        onChange=${onChange} common=${{ "aria-label": label }} /></span>`;
    case "code":
      return html`<input type="text" maxlength="3" size="5" aria-label=${label} placeholder="EUR" value=${value ?? ""}
        onInput=${(e) => onChange(e.target.value.toUpperCase())} />`;
    case "values":
      if (choicesOf.length) {
        const selected = Array.isArray(value) ? value : [];
        return html`<div class="checkbox-group inline" role="group" aria-label=${label}>
          ${choicesOf.map((c) => html`<label class="checkbox">
            <input type="checkbox" checked=${selected.includes(c.value)}
              onChange=${(e) => onChange(e.target.checked ? [...selected, c.value] : selected.filter((x) => x !== c.value))} />
            ${c.label}${c.retired ? " (retired)" : ""}</label>`)}
        </div>`;
      }
      return html`<input type="text" aria-label=${label} placeholder="values, separated by commas"
        value=${Array.isArray(value) ? value.join(", ") : value ?? ""} onChange=${(e) => onChange(splitList(e.target.value))} />`;
    default:
      if (field.type === "select" && choicesOf.length) {
        return html`<select aria-label=${label} value=${value ?? ""} onChange=${(e) => onChange(e.target.value)}>
          <option value="">Choose…</option>
          ${choicesOf.map((c) => html`<option value=${c.value}>${c.label}${c.retired ? " (retired)" : ""}</option>`)}
        </select>`;
      }
      return html`<input type=${scalarType} step="any" aria-label=${label} placeholder=${placeholder} value=${value ?? ""}
        onInput=${(e) => onChange(e.target.value)} />`;
  }
}

// ------------------------------------------------------------ the editor

let editorCount = 0;

export function FilterEditor({ object, value, onChange }) {
  const [objects, setObjects] = useState(null);
  useEffect(() => {
    loadObjects().then(setObjects, () => setObjects({ list: [], byName: {} }));
  }, []);
  const fields = useMemo(
    () => (object ? [...(object.fields || []), ...SYSTEM.filter((s) => !(object.fields || []).some((f) => f.apiName === s.apiName))] : []),
    [object],
  );
  const fieldsByName = useMemo(() => Object.fromEntries(fields.map((f) => [f.apiName, f])), [fields]);

  const [state, setState] = useState(() => parse(value, fieldsByName, objects));
  const emitted = useRef(JSON.stringify(value ?? null));
  const jsonId = useRef(`filter-json-${++editorCount}`).current;
  const [showJson, setShowJson] = useState(false);
  const [jsonText, setJsonText] = useState("");
  const [jsonError, setJsonError] = useState(null);

  // A value from outside (a saved view, the JSON box): rebuild the rows from it.
  useEffect(() => {
    const text = JSON.stringify(value ?? null);
    if (text !== emitted.current) {
      emitted.current = text;
      setState(parse(value, fieldsByName, objects));
    }
  }, [value, fieldsByName]);
  // Lookup rows written with the target's title need the objects: parse again once known.
  useEffect(() => {
    if (objects) setState(parse(value, fieldsByName, objects));
  }, [objects]);

  function update(next) {
    setState(next);
    const filter = build(next.mode, next.rows, fieldsByName, objects);
    const text = JSON.stringify(filter);
    if (text !== emitted.current) {
      emitted.current = text;
      onChange(filter);
    }
  }
  const setRow = (key, patch) => update({ ...state, rows: state.rows.map((r) => (r.key === key ? { ...r, ...patch } : r)) });
  const removeRow = (key) => update({ ...state, rows: state.rows.filter((r) => r.key !== key) });
  const addRow = () => {
    const first = fields[0];
    const op = first ? operatorsFor(first)[0][0] : "";
    update({ ...state, rows: [...state.rows, { key: newKey(), field: first ? first.apiName : "", op, value: "" }] });
  };

  if (!object) return null;
  const { mode, rows } = state;
  return html`<div class="filter-editor" role="group" aria-label="Filter conditions">
    ${rows.length > 1
      ? html`<div class="row filter-mode">
          <label>Match <select aria-label="Match" value=${mode} onChange=${(e) => update({ ...state, mode: e.target.value })}>
            <option value="and">all conditions (and)</option>
            <option value="or">any condition (or)</option>
          </select></label>
        </div>`
      : null}
    ${rows.length ? null : html`<p class="muted filter-none">No conditions: every record.</p>`}
    <ol class="filter-rows">
      ${rows.map((row, index) => {
        const n = index + 1;
        if (row.raw) {
          return html`<li class="filter-row raw" key=${row.key}>
            <span class="filter-join">${index ? (mode === "or" ? "or" : "and") : "where"}</span>
            <code class="raw-condition">${JSON.stringify(row.raw)}</code>
            <button type="button" class="small" aria-label=${`Remove condition ${n}`} onClick=${() => removeRow(row.key)}>Remove</button>
          </li>`;
        }
        const field = fieldsByName[row.field];
        const ops = operatorsFor(field);
        const operand = (ops.find(([k]) => k === row.op) || [])[2];
        return html`<li class="filter-row" key=${row.key}>
          <span class="filter-join">${index ? (mode === "or" ? "or" : "and") : "where"}</span>
          <select aria-label=${`Field of condition ${n}`} value=${row.field}
            onChange=${(e) => {
              const f = fieldsByName[e.target.value];
              const keep = operatorsFor(f).some(([k]) => k === row.op) && group(f.type) === group(field && field.type);
              setRow(row.key, { field: e.target.value, op: keep ? row.op : operatorsFor(f)[0][0], value: keep ? row.value : "" });
            }}>
            ${fields.map((f) => html`<option value=${f.apiName}>${f.label}</option>`)}
          </select>
          <select aria-label=${`Operator of condition ${n}`} value=${row.op}
            onChange=${(e) => {
              const nextOperand = (ops.find(([k]) => k === e.target.value) || [])[2];
              const sameShape = nextOperand === operand;
              setRow(row.key, { op: e.target.value, value: sameShape ? row.value : nextOperand === "values" ? [] : "" });
            }}>
            ${ops.map(([k, label]) => html`<option value=${k}>${label}</option>`)}
          </select>
          ${field
            ? html`<${ValueInput} field=${field} op=${row.op} operand=${operand} value=${row.value} objects=${objects}
                label=${`Value of condition ${n}`} onChange=${(v) => setRow(row.key, { value: v })} />`
            : null}
          <button type="button" class="small" aria-label=${`Remove condition ${n}`} onClick=${() => removeRow(row.key)}>Remove</button>
        </li>`;
      })}
    </ol>
    <div class="row">
      <button type="button" onClick=${addRow}>Add condition</button>
      <button type="button" class="link-button" aria-expanded=${showJson ? "true" : "false"}
        onClick=${() => {
          setJsonText(JSON.stringify(build(mode, rows, fieldsByName, objects) || {}, null, 2));
          setJsonError(null);
          setShowJson(!showJson);
        }}>${showJson ? "Hide JSON" : "Edit as JSON"}</button>
    </div>
    ${showJson
      ? html`<div class="filter-json">
          <label for=${jsonId} class="hint">The filter as JSON (docs/filters.md)</label>
          <textarea id=${jsonId} class="filter-json-text" spellcheck="false" value=${jsonText} onInput=${(e) => setJsonText(e.target.value)}></textarea>
          ${jsonError ? html`<p class="field-error" role="alert">${jsonError}</p>` : null}
          <button type="button" onClick=${() => {
            try {
              const parsed = jsonText.trim() ? JSON.parse(jsonText) : null;
              if (parsed !== null && (typeof parsed !== "object" || Array.isArray(parsed))) throw new Error("A filter is a JSON object.");
              const next = parse(parsed, fieldsByName, objects);
              setState(next);
              const filter = parsed && Object.keys(parsed).length ? parsed : null;
              emitted.current = JSON.stringify(filter);
              onChange(filter);
              setJsonError(null);
              setShowJson(false);
            } catch (error) {
              setJsonError(error.message);
            }
          }}>Use this JSON</button>
        </div>`
      : null}
  </div>`;
}

export default FilterEditor;
