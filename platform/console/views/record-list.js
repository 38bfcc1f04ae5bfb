// The records of one object: columns, sorting, a filter, pages and saved views.
// #/records/<object>?view=<saved view>&filter=<filter JSON>
import { html, useEffect, useMemo, useState } from "../vendor/preact-htm.js";
import { metadata, records } from "../api.js";
import { href } from "../router.js";
import { Empty, ErrorBanner, Loading, PageHeader } from "../components/ui.js";
import { FilterEditor } from "../components/filter-editor.js";
import {
  FieldValue, SYSTEM_FIELDS, findField, gqlNames, loadObjects, loadUsers, nameField, recordTitle, selection, titleFields,
} from "../components/record-fields.js";

const PAGE_SIZE = 25;
const UNSORTABLE = ["multi_select", "json", "long_text"];

function defaultColumns(object) {
  return object.fields.filter((f) => f.type !== "long_text" && f.type !== "json").slice(0, 6).map((f) => f.apiName);
}

function parseJson(text) {
  if (!text) return null;
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" ? value : null;
  } catch (error) {
    return null;
  }
}

// One orderBy element of a sort {field, direction}: a lookup sorts by its target's title.
function orderElement(object, objects, sort) {
  const field = findField(object, sort.field);
  const direction = String(sort.direction || "asc").toUpperCase();
  if (field && field.type === "lookup") {
    const target = objects.byName[field.options.target_object];
    const title = nameField(target);
    return { [sort.field]: { [title ? title.apiName : "id"]: direction } };
  }
  return { [sort.field]: direction };
}

export default function RecordList({ params, query }) {
  const objectName = params.object;
  const [objects, setObjects] = useState(null);
  const [views, setViews] = useState(null);
  const [users, setUsers] = useState({});
  const [metaError, setMetaError] = useState(null);

  const [viewName, setViewName] = useState(query.view || "");
  const [columns, setColumns] = useState(null);
  const [sort, setSort] = useState([]);
  const [filter, setFilter] = useState(() => parseJson(query.filter));
  const [draft, setDraft] = useState(() => parseJson(query.filter));
  const [showFilter, setShowFilter] = useState(Boolean(query.filter));
  const [page, setPage] = useState({ first: PAGE_SIZE });
  const [pageNumber, setPageNumber] = useState(1);

  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [loading, setLoading] = useState(false);

  const object = objects && objects.byName[objectName];

  useEffect(() => {
    loadObjects(true).then(setObjects, setMetaError);
    metadata("query($object: String) { savedViews(object: $object) { name object definition package } }", { object: objectName })
      .then((data) => setViews(data.savedViews), () => setViews([]));
    loadUsers().then(setUsers);
  }, [objectName]);

  // Columns default to the object's first fields, or the saved view named in the address.
  useEffect(() => {
    if (!object || columns) return;
    const view = (views || []).find((v) => v.name === viewName);
    if (viewName && views === null) return; // the views are still loading
    if (view) applyView(view);
    else setColumns(defaultColumns(object));
  }, [object, views]);

  const shown = useMemo(
    () => (object && columns ? columns.map((c) => findField(object, c)).filter(Boolean) : []),
    [object, columns],
  );

  function applyView(view) {
    const def = view ? view.definition || {} : {};
    setViewName(view ? view.name : "");
    const cols = view && Array.isArray(def.columns) ? def.columns.filter((c) => findField(object, c)) : null;
    setColumns(cols && cols.length ? cols : defaultColumns(object));
    setSort(view && Array.isArray(def.sort) ? def.sort.filter((s) => s && s.field).map((s) => ({ field: s.field, direction: String(s.direction || "asc").toLowerCase() })) : []);
    const f = view && def.filter && Object.keys(def.filter).length ? def.filter : null;
    setFilter(f);
    setDraft(f);
    setPage({ first: PAGE_SIZE });
    setPageNumber(1);
  }

  // The page of records.
  useEffect(() => {
    if (!object || !columns) return;
    const names = gqlNames(object);
    const selected = new Map();
    for (const f of titleFields(object)) selected.set(f.apiName, selection(f, objects));
    for (const f of shown) selected.set(f.apiName, selection(f, objects));
    const orderBy = sort.map((s) => orderElement(object, objects, s));
    const doc = `query($filter: ${names.filter}, $orderBy: [${names.orderBy}!], $first: Int, $after: String, $last: Int, $before: String) {
      ${names.plural}(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { node { id ${[...selected.values()].join(" ")} } }
      } }`;
    let live = true;
    setLoading(true);
    records(doc, { filter, orderBy: orderBy.length ? orderBy : null, ...page }).then(
      (data) => live && (setResult(data[names.plural]), setError(null), setLoading(false)),
      (failure) => live && (setError(failure), setLoading(false)),
    );
    return () => (live = false);
  }, [object, shown, sort, filter, page]);

  if (metaError) return html`<${ErrorBanner} error=${metaError} />`;
  if (!objects) return html`<${Loading} />`;
  if (!object) return html`<${ErrorBanner} error=${{ message: `There is no object '${objectName}'.`, code: "UNKNOWN_OBJECT" }} />`;

  function toggleSort(field) {
    const current = sort.length && sort[0].field === field.apiName ? sort[0].direction : null;
    const next = current === "asc" ? "desc" : current === "desc" ? null : "asc";
    setSort(next ? [{ field: field.apiName, direction: next }] : []);
    setPage({ first: PAGE_SIZE });
    setPageNumber(1);
  }
  function applyFilter(next) {
    setFilter(next && Object.keys(next).length ? next : null);
    setPage({ first: PAGE_SIZE });
    setPageNumber(1);
  }
  function toggleColumn(name, on) {
    setColumns(on ? [...columns.filter((c) => c !== name), name] : columns.filter((c) => c !== name));
  }

  const pageInfo = result && result.pageInfo;
  const total = result ? result.totalCount : null;
  const firstShown = result && result.edges.length ? (pageNumber - 1) * PAGE_SIZE + 1 : 0;
  const lastShown = result ? firstShown + result.edges.length - (result.edges.length ? 1 : 0) : 0;
  const filterKeys = filter ? Object.keys(filter) : [];
  const filterCount = filterKeys.length === 1 && Array.isArray(filter[filterKeys[0]]) && ["and", "or"].includes(filterKeys[0])
    ? filter[filterKeys[0]].length
    : filterKeys.length;

  return html`<div class="record-list">
    <${PageHeader} title=${object.labelPlural}>
      <a class="button primary" href=${href(`/records/${objectName}/new`)}>New ${object.labelSingular}</a>
    <//>
    <div class="list-toolbar row">
      <label class="inline-label">View
        <select value=${viewName} onChange=${(e) => applyView((views || []).find((v) => v.name === e.target.value) || null)}>
          <option value="">All ${object.labelPlural.toLowerCase()}</option>
          ${(views || []).map((v) => html`<option value=${v.name}>${(v.definition && v.definition.label) || v.name}</option>`)}
        </select>
      </label>
      <button type="button" aria-expanded=${showFilter ? "true" : "false"} aria-controls="list-filter"
        onClick=${() => setShowFilter(!showFilter)}>Filter</button>
      ${filterCount ? html`<span class="badge" title="Conditions of the filter">${filterCount} condition${filterCount === 1 ? "" : "s"}</span>` : null}
      ${filter
        ? html`<button type="button" class="small" onClick=${() => (setDraft(null), applyFilter(null))}>Clear filter</button>`
        : null}
      <details class="column-chooser">
        <summary>Columns</summary>
        <fieldset>
          <legend>Columns shown</legend>
          ${[...object.fields, ...SYSTEM_FIELDS].map((f) => html`<label class="checkbox">
            <input type="checkbox" checked=${(columns || []).includes(f.apiName)}
              onChange=${(e) => toggleColumn(f.apiName, e.target.checked)} /> ${f.label}</label>`)}
        </fieldset>
      </details>
      <span class="muted list-count" role="status">
        ${loading ? "Loading…" : total === null ? "" : total === 0 ? "No records" : `${firstShown}–${lastShown} of ${total}`}
      </span>
    </div>
    ${showFilter
      ? html`<section class="panel" id="list-filter" aria-label="Filter">
          <${FilterEditor} object=${object} value=${draft} onChange=${setDraft} />
          <div class="row filter-actions">
            <button type="button" class="primary" onClick=${() => applyFilter(draft)}>Apply filter</button>
          </div>
        </section>`
      : null}
    <${ErrorBanner} error=${error} />
    ${result
      ? html`<div class="table-wrap">
          <table class="records">
            <caption class="visually-hidden">${object.labelPlural}</caption>
            <thead><tr>
              ${shown.map((f) => {
                const active = sort.length && sort[0].field === f.apiName ? sort[0].direction : null;
                const ariaSort = active === "asc" ? "ascending" : active === "desc" ? "descending" : "none";
                return html`<th scope="col" aria-sort=${ariaSort}>
                  ${UNSORTABLE.includes(f.type)
                    ? f.label
                    : html`<button type="button" class="sort" onClick=${() => toggleSort(f)}
                        title=${`Sort by ${f.label}`}>${f.label}<span aria-hidden="true" class="sort-mark">${active === "asc" ? " ▲" : active === "desc" ? " ▼" : ""}</span></button>`}
                </th>`;
              })}
            </tr></thead>
            <tbody>
              ${result.edges.map(({ node }) => html`<tr key=${node.id}>
                ${shown.map((f, i) => html`<td class=${`type-${f.type}`}>
                  ${i === 0
                    ? html`<a class="record-link" href=${href(`/records/${objectName}/${node.id}`)}>
                        ${f.type === "lookup" || f.type === "url" || f.type === "email" || f.type === "phone"
                          ? recordTitle(object, node)
                          : html`<${FieldValue} field=${f} value=${node[f.apiName]} objects=${objects} users=${users} />`}</a>`
                    : html`<${FieldValue} field=${f} value=${node[f.apiName]} objects=${objects} users=${users} />`}
                </td>`)}
              </tr>`)}
            </tbody>
          </table>
        </div>
        ${result.edges.length ? null : html`<${Empty}>No ${object.labelPlural.toLowerCase()} ${filter ? "match this filter" : "yet"}.<//>`}
        <nav class="pager row" aria-label="Pages">
          <button type="button" disabled=${!pageInfo.hasPreviousPage || pageNumber <= 1}
            onClick=${() => (setPage({ last: PAGE_SIZE, before: pageInfo.startCursor }), setPageNumber(Math.max(1, pageNumber - 1)))}>Previous</button>
          <span class="muted">Page ${pageNumber}${total ? ` of ${Math.max(1, Math.ceil(total / PAGE_SIZE))}` : ""}</span>
          <button type="button" disabled=${!pageInfo.hasNextPage}
            onClick=${() => (setPage({ first: PAGE_SIZE, after: pageInfo.endCursor }), setPageNumber(pageNumber + 1))}>Next</button>
        </nav>`
      : error ? null : html`<${Loading} />`}
  </div>`;
}
