// The object manager's editor: create an object, or change one — its settings, its fields
// (added and changed with the field editor, reordered, deleted), its validation rules — and
// delete it. Every change goes through the metadata API; deletions show the server's plan
// and what data they would delete before anything happens.
import { html, useCallback, useEffect, useErrorBoundary, useRef, useState } from "../vendor/preact-htm.js";
import { metadata } from "../api.js";
import { href, navigate } from "../router.js";
import { Dialog, Empty, ErrorBanner, Field, Loading, PageHeader } from "../components/ui.js";
import { FieldEditor, PlanView, focusProblem, snakeCase } from "../components/field-editor.js";
import { errorAt } from "../components/options-editor.js";

const TYPES = `fieldTypes { name label description optionsSchema supportsUnique supportsDefault }`;
const LOAD = `query($name: String!) {
  workspace { metadataVersion }
  object(apiName: $name) {
    id apiName pluralApiName labelSingular labelPlural description validationRules createdVersion updatedVersion
    fields { id apiName label type required unique default helpText trackHistory options }
    relations { name sourceObject sourceField }
  }
  objects { apiName labelSingular }
  ${TYPES}
}`;
const RESULT = `applied version changes plan { description destructive sql } dataLoss { object field records } object { apiName }`;
const CREATE_OBJECT = `mutation($input: CreateObjectInput!, $dryRun: Boolean!) {
  createObject(input: $input, dryRun: $dryRun) { ${RESULT} } }`;
const UPDATE_OBJECT = `mutation($input: UpdateObjectInput!, $dryRun: Boolean!, $expectedVersion: Int) {
  updateObject(input: $input, dryRun: $dryRun, expectedVersion: $expectedVersion) { ${RESULT} } }`;
const DELETE_OBJECT = `mutation($input: DeleteObjectInput!, $dryRun: Boolean!, $confirm: Boolean!) {
  deleteObject(input: $input, dryRun: $dryRun, confirmDataLoss: $confirm) { ${RESULT} } }`;
const DELETE_FIELD = `mutation($input: DeleteFieldInput!, $dryRun: Boolean!, $confirm: Boolean!) {
  deleteField(input: $input, dryRun: $dryRun, confirmDataLoss: $confirm) { ${RESULT} } }`;
const REORDER = `mutation($input: ReorderFieldsInput!) { reorderFields(input: $input) { applied version } }`;

const OBJECT_INPUTS = ["apiName", "labelSingular", "labelPlural", "pluralApiName", "description"];

function pluralOf(word) {
  if (!word) return "";
  if (/[^aeiou]y$/i.test(word)) return word.slice(0, -1) + "ies";
  if (/(s|x|z|ch|sh)$/i.test(word)) return word + "es";
  return word + "s";
}

// Problems not placed next to any of `names` (inputs under ["input", name]): for the banner.
function bannerError(error, names) {
  if (!error) return null;
  if (!error.problems || !error.problems.length) return error;
  const rest = error.problems.filter((p) => {
    const path = (p.inputPath || []).map(String);
    return !(path[0] === "input" && names.includes(path[1]));
  });
  if (!rest.length) return { message: "The server refused the change: see the problems below.", code: error.code };
  return { message: rest.map((p) => p.message).join(" "), code: rest[0].code };
}

function dataLossText(dataLoss) {
  return dataLoss.map((d) => (d.field
    ? `the '${d.field}' values of ${d.records} '${d.object}' record(s)`
    : `${d.records} record(s) of '${d.object}'`)).join(", ");
}

// ---------------------------------------------------------------- object settings

function ObjectForm({ object, onSaved }) {
  const isNew = !object;
  const [values, setValues] = useState(() => ({
    apiName: object ? object.apiName : "",
    labelSingular: object ? object.labelSingular : "",
    labelPlural: object ? object.labelPlural : "",
    pluralApiName: object ? object.pluralApiName : "",
    description: object ? object.description : "",
  }));
  const [touched, setTouched] = useState(() => ({ apiName: !isNew, pluralApiName: !isNew, labelPlural: !isNew }));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [preview, setPreview] = useState(null);
  const [saved, setSaved] = useState("");
  const formRef = useRef(null);
  useEffect(() => focusProblem(formRef.current, error), [error]);

  function set(name, value) {
    setPreview(null);
    setSaved("");
    setTouched((t) => ({ ...t, [name]: true }));
    setValues((v) => {
      const next = { ...v, [name]: value };
      if (isNew && name === "labelSingular") {
        if (!touched.apiName) next.apiName = snakeCase(value).slice(0, 40);
      }
      return next;
    });
  }

  function input() {
    if (isNew) {
      const out = { apiName: values.apiName.trim() };
      for (const name of ["labelSingular", "labelPlural", "pluralApiName", "description"]) {
        if (values[name].trim() !== "") out[name] = values[name].trim();
      }
      return out;
    }
    const out = { object: object.apiName };
    for (const name of OBJECT_INPUTS) {
      if (values[name].trim() !== (object[name] || "")) out[name] = values[name].trim();
    }
    return out;
  }

  async function run(dryRun) {
    setBusy(true);
    setError(null);
    try {
      const data = await metadata(isNew ? CREATE_OBJECT : UPDATE_OBJECT, { input: input(), dryRun });
      const result = isNew ? data.createObject : data.updateObject;
      if (dryRun) setPreview(result);
      else {
        setPreview(null);
        setSaved(result.applied ? "Saved." : "Nothing to change.");
        onSaved(result);
      }
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  const at = (name) => errorAt(error, ["input", name]);
  const text = (name, label, hint, extra = {}) => html`
    <${Field} label=${label} name=${name} hint=${hint} error=${at(name)}>
      ${({ id, describedBy, invalid }) => html`<input id=${id} name=${name} aria-describedby=${describedBy}
        aria-invalid=${invalid} value=${values[name]} spellcheck=${extra.code ? "false" : null}
        autocomplete="off" placeholder=${extra.placeholder || ""} autofocus=${extra.autofocus || false}
        onInput=${(e) => set(name, e.target.value)} />`}
    <//>`;

  const suggestedPlural = values.labelSingular ? pluralOf(values.labelSingular) : "";
  return html`
    <form class="panel object-form" ref=${formRef} onSubmit=${(e) => { e.preventDefault(); run(false); }} novalidate
      aria-label=${isNew ? "New object" : "Object settings"}>
      ${isNew ? null : html`<h2>Settings</h2>`}
      <${ErrorBanner} error=${bannerError(error, OBJECT_INPUTS)} />
      <div class="grid-2">
        ${text("labelSingular", "Label", "What one record is called, e.g. Project.", { autofocus: isNew })}
        ${text("labelPlural", "Plural label", isNew ? "Leave empty for the default." : null,
          { placeholder: suggestedPlural })}
        ${text("apiName", "API name",
          isNew ? "lower_snake_case, 2–40 characters: how the APIs and tables name it."
                : "Renaming renames its table; apps using the old name must change.", { code: true })}
        ${text("pluralApiName", "Plural API name",
          isNew ? "Leave empty for the default (the API name in the plural)." : "Names the list queries of the record API.",
          { code: true, placeholder: values.apiName ? pluralOf(values.apiName) : "" })}
      </div>
      <${Field} label="Description" name="description" error=${at("description")}>
        ${({ id, describedBy, invalid }) => html`<textarea id=${id} name="description" rows="2"
          aria-describedby=${describedBy} aria-invalid=${invalid} value=${values.description}
          onInput=${(e) => set("description", e.target.value)}></textarea>`}
      <//>
      <${PlanView} result=${preview} title="Preview" />
      <div class="row form-actions">
        ${isNew
          ? html`<button type="button" onClick=${() => run(true)} disabled=${busy}>Preview changes</button>
                 <button type="submit" class="primary" disabled=${busy}>Create object</button>
                 <a class="button" href=${href("/admin/objects")}>Cancel</a>`
          : html`<button type="button" onClick=${() => run(true)} disabled=${busy}>Preview changes</button>
                 <button type="submit" class="primary" disabled=${busy}>Save object</button>`}
        ${busy ? html`<span class="muted" role="status">Working…</span>` : null}
        ${saved ? html`<span class="ok" role="status">${saved}</span>` : null}
      </div>
    </form>`;
}

// ---------------------------------------------------------------- deleting, with the plan first

// A dialog that previews a deletion (dry run), then deletes; confirmDataLoss when the
// server says data goes with it.
function DeleteDialog({ open, title, mutation, input, what, onDeleted, onClose }) {
  const [preview, setPreview] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [mustConfirm, setMustConfirm] = useState(false);

  useEffect(() => {
    if (!open) return;
    setPreview(null);
    setError(null);
    setMustConfirm(false);
    metadata(mutation, { input, dryRun: true, confirm: false }).then(
      (data) => {
        const result = Object.values(data)[0];
        setPreview(result);
        setMustConfirm(result.dataLoss.length > 0);
      },
      setError,
    );
  }, [open]);

  async function remove() {
    setBusy(true);
    setError(null);
    try {
      const data = await metadata(mutation, { input, dryRun: false, confirm: mustConfirm });
      onDeleted(Object.values(data)[0]);
    } catch (failure) {
      setError(failure);
      // the server refuses until the loss is confirmed: it said what goes; the next click confirms
      if (failure.code === "DATA_LOSS_NOT_CONFIRMED") setMustConfirm(true);
    } finally {
      setBusy(false);
    }
  }

  return html`
    <${Dialog} open=${open} title=${title} onClose=${onClose}>
      ${error ? html`<${ErrorBanner} error=${error} />` : null}
      ${!preview && !error ? html`<${Loading} label="Checking what this deletes…" />` : null}
      ${preview
        ? html`
          ${preview.dataLoss.length
            ? html`<p class="data-loss-text" role="alert"><strong>This change deletes data: ${dataLossText(preview.dataLoss)}.</strong>${" "}It cannot be undone.</p>`
            : html`<p>${what} holds no data; nothing else is lost.</p>`}
          <${PlanView} result=${preview} title="What this deletion does" hideLoss=${true} />`
        : null}
      <div class="row form-actions">
        <button type="button" class="danger" onClick=${remove}
          disabled=${busy || (!preview && !(error && error.code === "DATA_LOSS_NOT_CONFIRMED"))}>Delete</button>
        <button type="button" onClick=${onClose}>Cancel</button>
        ${busy ? html`<span class="muted" role="status">Deleting…</span>` : null}
      </div>
    <//>`;
}

// ---------------------------------------------------------------- fields

function FieldsTable({ object, fieldTypes, onEdit, onDelete, onMove, busy }) {
  const typeLabel = (name) => (fieldTypes.find((t) => t.name === name) || { label: name }).label;
  const fields = object.fields;
  if (!fields.length) return html`<${Empty}>No fields yet: add the first one.<//>`;
  const detail = (f) => {
    const o = f.options || {};
    if (f.type === "lookup") return `→ ${o.target_object || "?"}`;
    if ((f.type === "select" || f.type === "multi_select") && o.choices) return o.choices.map((c) => c.label || c.value).join(", ");
    if (f.type === "currency" && o.default_currency) return o.default_currency;
    return "";
  };
  return html`
    <table class="fields-table">
      <caption class="visually-hidden">Fields of ${object.labelSingular}</caption>
      <thead><tr>
        <th scope="col">Label</th><th scope="col">API name</th><th scope="col">Type</th>
        <th scope="col">Required</th><th scope="col">Unique</th><th scope="col"><span class="visually-hidden">Actions</span></th>
      </tr></thead>
      <tbody>
        ${fields.map((f, i) => html`
          <tr key=${f.id}>
            <th scope="row">${f.label}${f.helpText ? html`<div class="muted small">${f.helpText}</div>` : null}</th>
            <td><code>${f.apiName}</code></td>
            <td>${typeLabel(f.type)}${detail(f) ? html`<div class="muted small">${detail(f)}</div>` : null}</td>
            <td>${f.required ? "Yes" : "No"}</td>
            <td>${f.unique ? "Yes" : "No"}</td>
            <td class="row-actions">
              <button type="button" aria-label=${`Edit field ${f.label}`} onClick=${() => onEdit(f)}>Edit</button>
              <button type="button" class="danger" aria-label=${`Delete field ${f.label}`} onClick=${() => onDelete(f)}>Delete</button>
              <button type="button" class="icon" aria-label=${`Move field ${f.label} up`} title="Move up"
                disabled=${busy || i === 0} id=${`field-up-${f.apiName}`} onClick=${() => onMove(i, i - 1, f)}>↑</button>
              <button type="button" class="icon" aria-label=${`Move field ${f.label} down`} title="Move down"
                disabled=${busy || i === fields.length - 1} id=${`field-down-${f.apiName}`} onClick=${() => onMove(i, i + 1, f)}>↓</button>
            </td>
          </tr>`)}
      </tbody>
    </table>`;
}

// ---------------------------------------------------------------- validation rules

let filterEditorModule = null;
function useFilterEditor() {
  const [mod, setMod] = useState(filterEditorModule);
  useEffect(() => {
    if (filterEditorModule) return;
    import("../components/filter-editor.js").then(
      (m) => { if (m && typeof m.FilterEditor === "function") { filterEditorModule = m; setMod(m); } },
      () => {},
    );
  }, []);
  return mod && mod.FilterEditor;
}

// The other engineer's filter editor, falling back to the JSON textarea if it fails.
function SafeFilterEditor({ Editor, fallback, ...props }) {
  const [failure] = useErrorBoundary();
  if (failure) return fallback;
  return html`<${Editor} ...${props} />`;
}

function RuleEditor({ object, rules, index, onSaved, onCancel, version }) {
  const rule = index === null ? null : rules[index];
  const FilterEditor = useFilterEditor();
  const [name, setName] = useState(rule ? rule.name : "");
  const [filterText, setFilterText] = useState(rule ? JSON.stringify(rule.error_when, null, 2) : "{\n  \n}");
  const [filterValue, setFilterValue] = useState(rule ? rule.error_when : {});
  const [useJson, setUseJson] = useState(true);
  const [message, setMessage] = useState(rule ? rule.message : "");
  const [field, setField] = useState(rule ? rule.field || "" : "");
  const [active, setActive] = useState(rule ? rule.active !== false : true);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const position = index === null ? rules.length : index;
  const formRef = useRef(null);
  useEffect(() => focusProblem(formRef.current, error), [error]);

  useEffect(() => { if (FilterEditor) setUseJson(false); }, [FilterEditor]);

  async function save(event) {
    event.preventDefault();
    setError(null);
    let errorWhen = filterValue;
    if (useJson) {
      try {
        errorWhen = JSON.parse(filterText);
      } catch (e) {
        const path = ["input", "validationRules", position, "error_when"];
        setError({ message: `"Error when" is not valid JSON: ${e.message}`, code: "INVALID_INPUT",
          problems: [{ code: "INVALID_INPUT", message: `Not valid JSON: ${e.message}`, inputPath: path }] });
        return;
      }
    }
    if (!errorWhen || typeof errorWhen !== "object" || Array.isArray(errorWhen) || !Object.keys(errorWhen).length) {
      const path = ["input", "validationRules", position, "error_when"];
      const text = "Give at least one condition: a rule without one would refuse every record.";
      setError({ message: text, code: "INVALID_INPUT", problems: [{ code: "INVALID_INPUT", message: text, inputPath: path }] });
      return;
    }
    const edited = { name: name.trim(), error_when: errorWhen, message: message.trim(), active };
    if (field) edited.field = field;
    const all = rules.map(({ id, ...r }) => r);
    if (index === null) all.push(edited);
    else all[index] = edited;
    setBusy(true);
    try {
      const data = await metadata(UPDATE_OBJECT, {
        input: { object: object.apiName, validationRules: all }, dryRun: false, expectedVersion: version,
      });
      onSaved(data.updateObject);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  const at = (key) => errorAt(error, ["input", "validationRules", position, key]);
  const placedKeys = ["name", "error_when", "message", "field", "active"];
  const banner = error && error.problems && error.problems.every((p) => {
    const path = (p.inputPath || []).map(String);
    return path[1] === "validationRules" && path[2] === String(position) && placedKeys.includes(path[3]);
  }) ? { message: "The server refused the rule: see the problems below.", code: error.code } : error;

  const jsonArea = html`
    <${Field} label="Error when" name="error_when" id="rule-error_when" error=${at("error_when")}
        hint=${'A filter (JSON, as in the record API): a record matching it is refused. E.g. {"amount": {"lt": 0}}'}>
      ${({ id, describedBy, invalid }) => html`<textarea id=${id} rows="6" spellcheck="false" aria-describedby=${describedBy}
        aria-invalid=${invalid} value=${filterText} onInput=${(e) => setFilterText(e.target.value)}></textarea>`}
    <//>`;

  return html`
    <form class="rule-editor" ref=${formRef} onSubmit=${save} novalidate>
      <${ErrorBanner} error=${banner} />
      <${Field} label="Rule name" name="name" id="rule-name" error=${at("name")} hint="lower_snake_case, unique in the object.">
        ${({ id, describedBy, invalid }) => html`<input id=${id} aria-describedby=${describedBy} aria-invalid=${invalid}
          value=${name} spellcheck="false" autofocus onInput=${(e) => setName(e.target.value)} />`}
      <//>
      ${FilterEditor && !useJson
        ? html`<div class="field" data-field="error_when">
            <span class="label-text" id="rule-filter-label">Error when</span>
            <div role="group" aria-labelledby="rule-filter-label">
              <${SafeFilterEditor} Editor=${FilterEditor} fallback=${jsonArea} object=${object}
                value=${filterValue} onChange=${(v) => { setFilterValue(v); setFilterText(JSON.stringify(v, null, 2)); }} />
            </div>
            ${at("error_when") ? html`<p class="field-error" role="alert">${at("error_when").problems.map((p) => p.message).join(" ")}</p>` : null}
          </div>`
        : jsonArea}
      ${FilterEditor
        ? html`<button type="button" class="link toggle-filter" onClick=${() => {
            if (useJson) { try { setFilterValue(JSON.parse(filterText)); } catch (e) { /* keep */ } }
            setUseJson(!useJson);
          }}>${useJson ? "Use the filter editor" : "Type the filter as JSON"}</button>`
        : null}
      <${Field} label="Error message" name="message" id="rule-message" error=${at("message")}
          hint="Shown to whoever saves a record breaking the rule.">
        ${({ id, describedBy, invalid }) => html`<input id=${id} aria-describedby=${describedBy} aria-invalid=${invalid}
          value=${message} onInput=${(e) => setMessage(e.target.value)} />`}
      <//>
      <${Field} label="Field" name="field" id="rule-field" error=${at("field")}
          hint="The field the message is shown at; none: the record as a whole.">
        ${({ id, describedBy, invalid }) => html`<select id=${id} aria-describedby=${describedBy} aria-invalid=${invalid}
          value=${field} onChange=${(e) => setField(e.target.value)}>
          <option value="">(the record as a whole)</option>
          ${object.fields.map((f) => html`<option value=${f.apiName}>${f.label} (${f.apiName})</option>`)}
        </select>`}
      <//>
      <label class="check"><input type="checkbox" checked=${active} onChange=${(e) => setActive(e.target.checked)} /> Active</label>
      <div class="row form-actions">
        <button type="submit" class="primary" disabled=${busy}>Save rule</button>
        <button type="button" onClick=${onCancel}>Cancel</button>
      </div>
    </form>`;
}

function RulesSection({ object, version, onChanged, setStatus }) {
  const rules = Array.isArray(object.validationRules) ? object.validationRules : [];
  const [editing, setEditing] = useState(undefined); // undefined: closed; null: new; n: index
  const [removing, setRemoving] = useState(null);
  const [error, setError] = useState(null);

  async function remove(index) {
    setError(null);
    const all = rules.filter((_, i) => i !== index).map(({ id, ...r }) => r);
    try {
      await metadata(UPDATE_OBJECT, { input: { object: object.apiName, validationRules: all }, dryRun: false, expectedVersion: version });
      setStatus(`Rule ${rules[index].name} deleted.`);
      setRemoving(null);
      onChanged();
    } catch (failure) {
      setError(failure);
    }
  }

  return html`
    <section class="panel" aria-labelledby="rules-title">
      <div class="section-header">
        <h2 id="rules-title">Validation rules</h2>
        <button type="button" onClick=${() => setEditing(null)}>Add rule</button>
      </div>
      <${ErrorBanner} error=${error} />
      ${rules.length === 0
        ? html`<${Empty}>No validation rules. A rule refuses records matching its filter, with its message.<//>`
        : html`<table class="rules-table">
            <caption class="visually-hidden">Validation rules of ${object.labelSingular}</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Error when</th><th scope="col">Message</th>
              <th scope="col">Field</th><th scope="col">Active</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>${rules.map((r, i) => html`
              <tr key=${r.id || r.name}>
                <th scope="row"><code>${r.name}</code></th>
                <td><code class="filter-json">${JSON.stringify(r.error_when)}</code></td>
                <td>${r.message}</td>
                <td>${r.field ? html`<code>${r.field}</code>` : "—"}</td>
                <td>${r.active === false ? "No" : "Yes"}</td>
                <td class="row-actions">
                  <button type="button" aria-label=${`Edit rule ${r.name}`} onClick=${() => setEditing(i)}>Edit</button>
                  <button type="button" class="danger" aria-label=${`Delete rule ${r.name}`} onClick=${() => setRemoving(i)}>Delete</button>
                </td>
              </tr>`)}</tbody>
          </table>`}
      <${Dialog} open=${editing !== undefined} title=${editing === null ? "Add a validation rule" : "Edit the validation rule"}
        onClose=${() => setEditing(undefined)}>
        <${RuleEditor} object=${object} rules=${rules} index=${editing === undefined ? null : editing} version=${version}
          key=${String(editing)}
          onCancel=${() => setEditing(undefined)}
          onSaved=${() => { setStatus("Validation rule saved."); setEditing(undefined); onChanged(); }} />
      <//>
      <${Dialog} open=${removing !== null} title="Delete the validation rule?" onClose=${() => setRemoving(null)}>
        ${removing !== null && rules[removing]
          ? html`<p>Records will no longer be checked against <code>${rules[removing].name}</code>. No data is deleted.</p>
            <div class="row form-actions">
              <button type="button" class="danger" onClick=${() => remove(removing)}>Delete</button>
              <button type="button" onClick=${() => setRemoving(null)}>Cancel</button>
            </div>`
          : null}
      <//>
    </section>`;
}

// ---------------------------------------------------------------- the screen

function NewObject() {
  return html`
    <nav class="breadcrumbs" aria-label="Breadcrumbs"><a href=${href("/admin/objects")}>Data model</a> › New object</nav>
    <${PageHeader} title="New object" />
    <${ObjectForm} object=${null}
      onSaved=${(result) => navigate(`/admin/objects/${encodeURIComponent(result.object.apiName)}?created=1`)} />`;
}

function EditObject({ name, query }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [editing, setEditing] = useState(undefined); // undefined: closed; null: new field; a field
  const [deletingField, setDeletingField] = useState(null);
  const [deletingObject, setDeletingObject] = useState(false);
  const [status, setStatus] = useState(query && query.created ? "Object created. Add its fields." : "");
  const [moving, setMoving] = useState(false);
  const [formKey, setFormKey] = useState(0);

  const load = useCallback(() => metadata(LOAD, { name }).then(
    (d) => { setData(d); setError(null); },
    setError,
  ), [name]);
  useEffect(() => { load(); }, [load]);

  if (error && !data) return html`<${PageHeader} title="Object" /><${ErrorBanner} error=${error} />`;
  if (!data) return html`<${Loading} />`;
  const object = data.object;
  if (!object) {
    return html`<${PageHeader} title="No such object" />
      <p>There is no object <code>${name}</code>. <a href=${href("/admin/objects")}>Back to the data model</a></p>`;
  }

  async function move(from, to, field) {
    const order = object.fields.map((f) => f.apiName);
    const [item] = order.splice(from, 1);
    order.splice(to, 0, item);
    setMoving(true);
    try {
      await metadata(REORDER, { input: { object: object.apiName, fields: order } });
      await load();
      setStatus(`Field ${field.label} moved to position ${to + 1} of ${order.length}.`);
      const button = document.getElementById(`field-${to < from ? "up" : "down"}-${field.apiName}`);
      const other = document.getElementById(`field-${to < from ? "down" : "up"}-${field.apiName}`);
      (button && !button.disabled ? button : other)?.focus();
    } catch (failure) {
      setError(failure);
    } finally {
      setMoving(false);
    }
  }

  return html`
    <nav class="breadcrumbs" aria-label="Breadcrumbs"><a href=${href("/admin/objects")}>Data model</a> › ${object.labelSingular}</nav>
    <${PageHeader} title=${`${object.labelSingular}`}>
      <a class="button" href=${href(`/records/${encodeURIComponent(object.apiName)}`)}>Open records</a>
      <button type="button" class="danger" onClick=${() => setDeletingObject(true)}>Delete object</button>
    <//>
    <p class="muted">API name <code>${object.apiName}</code> · plural <code>${object.pluralApiName}</code> ·
      metadata version ${data.workspace.metadataVersion}</p>
    ${status ? html`<p class="status ok" role="status">${status}</p>` : null}
    <${ErrorBanner} error=${error} />

    <${ObjectForm} object=${object} key=${`${object.apiName}-${formKey}`}
      onSaved=${(result) => {
        setStatus(result.applied ? "Object saved." : "Nothing changed.");
        if (result.object && result.object.apiName !== object.apiName) {
          navigate(`/admin/objects/${encodeURIComponent(result.object.apiName)}`);
        } else {
          load().then(() => setFormKey((k) => k + 1));
        }
      }} />

    <section class="panel" aria-labelledby="fields-title">
      <div class="section-header">
        <h2 id="fields-title">Fields</h2>
        <button type="button" class="primary" onClick=${() => setEditing(null)}>Add field</button>
      </div>
      <p class="hint">Every record also has the system fields id, created_at, updated_at, created_by, updated_by and owner.</p>
      <${FieldsTable} object=${object} fieldTypes=${data.fieldTypes} busy=${moving}
        onEdit=${(f) => setEditing(f)} onDelete=${(f) => setDeletingField(f)} onMove=${move} />
      ${object.relations.length
        ? html`<h3>Linked from</h3><ul class="relations">${object.relations.map((r) => html`
            <li><code>${r.name}</code>: <a href=${href(`/admin/objects/${r.sourceObject}`)}>${r.sourceObject}</a>.${r.sourceField}</li>`)}</ul>`
        : null}
    </section>

    <${RulesSection} object=${object} version=${data.workspace.metadataVersion} setStatus=${setStatus}
      onChanged=${() => load()} />

    <${Dialog} open=${editing !== undefined} title=${editing ? `Edit field ${editing.label}` : "Add a field"}
      onClose=${() => setEditing(undefined)}>
      <${FieldEditor} key=${editing ? editing.id : "new"} object=${object.apiName} field=${editing || null}
        fieldTypes=${data.fieldTypes} objects=${data.objects}
        onCancel=${() => setEditing(undefined)}
        onSaved=${(result, apiName) => {
          setStatus(result.applied ? `Field ${apiName} saved: ${result.changes.join("; ")}.` : "Nothing changed.");
          setEditing(undefined);
          load();
        }} />
    <//>

    <${DeleteDialog} open=${!!deletingField} key=${deletingField ? deletingField.id : "none"}
      title=${deletingField ? `Delete field ${deletingField.label}?` : "Delete field"}
      mutation=${DELETE_FIELD} input=${deletingField ? { object: object.apiName, field: deletingField.apiName } : null}
      what=${deletingField ? `The field ${deletingField.apiName}` : ""}
      onClose=${() => setDeletingField(null)}
      onDeleted=${() => { setStatus(`Field ${deletingField.apiName} deleted.`); setDeletingField(null); load(); }} />

    <${DeleteDialog} open=${deletingObject} title=${`Delete object ${object.labelSingular}?`}
      mutation=${DELETE_OBJECT} input=${{ object: object.apiName }}
      what=${`The object ${object.apiName}`}
      onClose=${() => setDeletingObject(false)}
      onDeleted=${() => { setDeletingObject(false); navigate("/admin/objects"); }} />`;
}

export default function AdminObject({ params, query }) {
  if (!params.object) return html`<${NewObject} />`;
  return html`<${EditObject} name=${params.object} query=${query} key=${params.object} />`;
}
