// Create and edit forms, generated from the object's metadata.
// #/records/<object>/new (lookups may be prefilled: ?company=<id>) and #/records/<object>/<id>/edit
import { html, useEffect, useState } from "../vendor/preact-htm.js";
import { ApiError, records } from "../api.js";
import { href, navigate } from "../router.js";
import { ErrorBanner, Field, Loading, PageHeader } from "../components/ui.js";
import {
  FieldInput, InputProblem, defaultFormValue, fieldHint, formValue, gqlNames, inputValue, loadObjects, recordTitle,
  selection,
} from "../components/record-fields.js";

// Fields a form writes: every field but auto-numbers (system fields are not in `fields`).
export function writableFields(object) {
  return object.fields.filter((f) => f.type !== "auto_number");
}

export default function RecordForm({ params, query }) {
  const { object: objectName, id } = params;
  const editing = Boolean(id);
  const [objects, setObjects] = useState(null);
  const [values, setValues] = useState(null);
  const [initial, setInitial] = useState(null);
  const [record, setRecord] = useState(undefined);
  const [error, setError] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [saving, setSaving] = useState(false);

  const object = objects && objects.byName[objectName];

  useEffect(() => {
    loadObjects(true).then(setObjects, setLoadError);
  }, [objectName]);

  useEffect(() => {
    if (!object) return;
    const fields = writableFields(object);
    if (!editing) {
      const start = Object.fromEntries(fields.map((f) => [f.apiName, defaultFormValue(f)]));
      // Prefill from the address: ?company=<id> for a lookup, ?stage=won for others.
      for (const f of fields) {
        if (query && query[f.apiName] !== undefined) {
          start[f.apiName] = f.type === "lookup" ? { id: query[f.apiName] } : formValue(f, query[f.apiName]);
        }
      }
      setValues(start);
      setInitial(null);
      return;
    }
    const names = gqlNames(object);
    records(`query($id: ID!) { ${names.single}(id: $id) { id ${fields.map((f) => selection(f, objects)).join(" ")} } }`, { id })
      .then((data) => {
        const node = data[names.single];
        setRecord(node);
        if (!node) return;
        const start = Object.fromEntries(fields.map((f) => [f.apiName, formValue(f, node[f.apiName])]));
        setValues(start);
        setInitial(start);
      }, setLoadError);
  }, [object, id]);

  // Prefilled lookups know only an id: fetch the linked records' titles.
  useEffect(() => {
    if (!object || !values || editing) return;
    for (const f of writableFields(object)) {
      const v = values[f.apiName];
      if (f.type !== "lookup" || !v || !v.id || Object.keys(v).length > 1) continue;
      const target = objects.byName[f.options.target_object];
      if (!target) continue;
      const names = gqlNames(target);
      const sel = selection(f, objects).replace(/^\w+\s*\{/, "{");
      records(`query($id: ID!) { ${names.single}(id: $id) ${sel} }`, { id: v.id }).then(
        (data) => data[names.single] && setValues((old) => ({ ...old, [f.apiName]: data[names.single] })),
        () => {},
      );
    }
  }, [object, values === null]);

  if (loadError) return html`<${ErrorBanner} error=${loadError} />`;
  if (!objects) return html`<${Loading} />`;
  if (!object) return html`<${ErrorBanner} error=${{ message: `There is no object '${objectName}'.`, code: "UNKNOWN_OBJECT" }} />`;
  if (editing && record === null) {
    return html`<${ErrorBanner} error=${{ message: `There is no ${object.labelSingular.toLowerCase()} ${id} (or it is in the recycle bin).`, code: "NOT_FOUND" }} />`;
  }
  if (!values) return html`<${Loading} />`;

  const fields = writableFields(object);
  const cancelPath = editing ? `/records/${objectName}/${id}` : `/records/${objectName}`;

  async function submit(event) {
    event.preventDefault();
    setError(null);
    // The input: every field with a value (create), the changed fields (edit).
    const input = {};
    const problems = [];
    for (const f of fields) {
      const v = values[f.apiName];
      if (editing && JSON.stringify(v) === JSON.stringify(initial[f.apiName])) continue;
      try {
        const converted = inputValue(f, v);
        if (!editing && (converted === null || (Array.isArray(converted) && !converted.length))) continue;
        input[f.apiName] = converted;
      } catch (failure) {
        if (!(failure instanceof InputProblem)) throw failure;
        problems.push({ code: failure.code, message: failure.message, inputPath: ["input", f.apiName] });
      }
    }
    if (problems.length) {
      const first = problems[0];
      setError(new ApiError(
        problems.length > 1 ? `${first.message} (and ${problems.length - 1} more problem(s))` : first.message,
        first.code, first.inputPath, problems,
      ));
      return;
    }
    if (editing && !Object.keys(input).length) {
      navigate(cancelPath);
      return;
    }
    const names = gqlNames(object);
    setSaving(true);
    try {
      const data = editing
        ? await records(`mutation($id: ID!, $input: ${names.input}!) { ${names.update}(id: $id, input: $input) { id } }`, { id, input })
        : await records(`mutation($input: ${names.input}!) { ${names.create}(input: $input) { id } }`, { input });
      const saved = data[editing ? names.update : names.create];
      navigate(`/records/${objectName}/${saved.id}`);
    } catch (failure) {
      setError(failure);
      setSaving(false);
    }
  }

  const title = editing
    ? `Edit ${record ? recordTitle(object, record) : object.labelSingular.toLowerCase()}`
    : `New ${object.labelSingular}`;
  return html`<div class="record-form">
    <p class="breadcrumbs"><a href=${href(`/records/${objectName}`)}>${object.labelPlural}</a> ›</p>
    <${PageHeader} title=${title} />
    <form class="panel record-form-panel" onSubmit=${submit} noValidate aria-label=${title}>
      <${ErrorBanner} error=${error} />
      <div class="form-grid">
        ${fields.map((f) => html`<div class=${`form-cell type-${f.type}${f.required ? " required" : ""}`} key=${f.apiName}>
          <${Field} label=${f.label} name=${f.apiName} hint=${fieldHint(f)} error=${error}>
            ${(wiring) => html`<${FieldInput} field=${f} value=${values[f.apiName]} objects=${objects} ...${wiring}
              onChange=${(v) => setValues((old) => ({ ...old, [f.apiName]: v }))} />`}
          <//>
        </div>`)}
      </div>
      <div class="row form-actions">
        <button type="submit" class="primary" disabled=${saving}>${saving ? "Saving…" : "Save"}</button>
        <button type="button" onClick=${() => navigate(cancelPath)}>Cancel</button>
      </div>
    </form>
  </div>`;
}
