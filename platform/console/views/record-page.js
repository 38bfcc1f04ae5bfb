// One record: its fields, edit and delete, related lists (reverse relations) and a timeline
// of its field history.
import { html, useEffect, useState } from "../vendor/preact-htm.js";
import { metadata, records } from "../api.js";
import { href, navigate } from "../router.js";
import { Dialog, Empty, ErrorBanner, Loading, PageHeader, when } from "../components/ui.js";
import {
  FieldValue, SYSTEM_FIELDS, gqlNames, loadObjects, loadUsers, recordTitle, selection, titleFields,
} from "../components/record-fields.js";

const RELATED_PAGE = 5;

function recordQuery(object, objects) {
  const names = gqlNames(object);
  const fields = object.fields.map((f) => selection(f, objects)).join("\n");
  const related = object.relations
    .map((rel) => {
      const source = objects.byName[rel.sourceObject];
      if (!source) return "";
      const titles = titleFields(source).map((f) => f.apiName).join(" ");
      return `${rel.name}(first: ${RELATED_PAGE}, orderBy: [{updated_at: DESC}]) { totalCount edges { node { id ${titles} } } }`;
    })
    .join("\n");
  return `query($id: ID!) { ${names.single}(id: $id) {
    id created_at updated_at created_by updated_by owner
    ${fields}
    ${related}
  } }`;
}

function RelatedList({ relation, source, connection, recordId, object }) {
  const field = source.fields.find((f) => f.apiName === relation.sourceField);
  const filter = JSON.stringify({ [relation.sourceField]: { id: { eq: recordId } } });
  const humanized = relation.name.charAt(0).toUpperCase() + relation.name.slice(1).replace(/_/g, " ");
  const heading = relation.name === source.pluralApiName
    ? `${source.labelPlural}${field && field.apiName !== object.apiName ? ` (${field.label})` : ""}`
    : humanized;
  const total = connection ? connection.totalCount : 0;
  return html`<section class="panel related" aria-label=${heading}>
    <div class="related-header row">
      <h3>${heading} <span class="badge">${total}</span></h3>
      <span class="actions row">
        <a href=${href(`/records/${source.apiName}/new?${relation.sourceField}=${encodeURIComponent(recordId)}`)}>Add<span
          class="visually-hidden"> ${source.labelSingular.toLowerCase()}</span></a>
        ${total > 0
          ? html`<a href=${href(`/records/${source.apiName}?filter=${encodeURIComponent(filter)}`)}>View all</a>`
          : null}
      </span>
    </div>
    ${total
      ? html`<ul class="related-list">
          ${connection.edges.map(({ node }) => html`<li key=${node.id}>
            <a href=${href(`/records/${source.apiName}/${node.id}`)}>${recordTitle(source, node)}</a></li>`)}
          ${total > connection.edges.length ? html`<li class="muted">and ${total - connection.edges.length} more</li>` : null}
        </ul>`
      : html`<p class="muted">None.</p>`}
  </section>`;
}

function Timeline({ object, record, history, users, objects }) {
  const byName = Object.fromEntries([...object.fields, ...SYSTEM_FIELDS].map((f) => [f.apiName, f]));
  const entries = [...(history || [])];
  const who = (id) => (id ? users[id] || `${String(id).slice(0, 8)}…` : "the system");
  return html`<section class="panel timeline" aria-labelledby="timeline-title">
    <h2 id="timeline-title">Activity</h2>
    <ol class="timeline-list">
      ${entries.map((e, i) => {
        const field = byName[e.field] || { apiName: e.field, label: e.field, type: "text", options: {} };
        return html`<li key=${i}>
          <time datetime=${e.changedAt}>${when(e.changedAt)}</time>
          <div>
            <strong>${field.label}</strong>
            ${e.kind === "created"
              ? html` set to <${FieldValue} field=${field} value=${e.newValue} objects=${objects} users=${users} />`
              : e.kind === "destroyed"
                ? " deleted"
                : html` changed from <${FieldValue} field=${field} value=${e.oldValue} objects=${objects} users=${users} />${" "}to <${FieldValue} field=${field} value=${e.newValue} objects=${objects} users=${users} />`}
            <span class="muted"> by ${who(e.actor)}</span>
          </div>
        </li>`;
      })}
      <li>
        <time datetime=${record.created_at}>${when(record.created_at)}</time>
        <div><strong>Created</strong><span class="muted"> by ${who(record.created_by)}</span></div>
      </li>
    </ol>
    ${history && !history.length
      ? html`<p class="hint">Only changes of fields that keep their history are listed here.</p>`
      : null}
  </section>`;
}

export default function RecordPage({ params }) {
  const { object: objectName, id } = params;
  const [objects, setObjects] = useState(null);
  const [record, setRecord] = useState(undefined);
  const [history, setHistory] = useState(null);
  const [users, setUsers] = useState({});
  const [error, setError] = useState(null);
  const [confirming, setConfirming] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState(null);

  const object = objects && objects.byName[objectName];

  useEffect(() => {
    loadObjects(true).then(setObjects, setError);
    loadUsers().then(setUsers);
    metadata(
      `query($filter: RecordHistoryFilter) { recordHistory(filter: $filter, limit: 100) {
        field kind oldValue newValue actor changedAt } }`,
      { filter: { object: objectName, recordId: id } },
    ).then((data) => setHistory(data.recordHistory), () => setHistory([]));
  }, [objectName, id]);

  useEffect(() => {
    if (!object) return;
    const names = gqlNames(object);
    records(recordQuery(object, objects), { id }).then((data) => setRecord(data[names.single]), setError);
  }, [object, id]);

  if (error) return html`<${ErrorBanner} error=${error} />`;
  if (!objects || record === undefined) return html`<${Loading} />`;
  if (!object) return html`<${ErrorBanner} error=${{ message: `There is no object '${objectName}'.`, code: "UNKNOWN_OBJECT" }} />`;
  if (record === null) {
    return html`<${PageHeader} title=${`${object.labelSingular} not found`} />
      <${Empty}>This ${object.labelSingular.toLowerCase()} does not exist or is in the recycle bin.
        <a href=${href(`/records/${objectName}`)}>Back to ${object.labelPlural.toLowerCase()}</a><//>`;
  }

  async function remove() {
    setDeleting(true);
    setDeleteError(null);
    try {
      await records(`mutation($id: ID!) { ${gqlNames(object).remove}(id: $id) { id } }`, { id });
      setConfirming(false);
      navigate(`/records/${objectName}`);
    } catch (failure) {
      setDeleteError(failure);
    } finally {
      setDeleting(false);
    }
  }

  const title = recordTitle(object, record);
  return html`<div class="record-page">
    <p class="breadcrumbs"><a href=${href(`/records/${objectName}`)}>${object.labelPlural}</a> ›</p>
    <${PageHeader} title=${title}>
      <button type="button" class="primary" onClick=${() => navigate(`/records/${objectName}/${id}/edit`)}>Edit</button>
      <button type="button" class="danger" onClick=${() => (setDeleteError(null), setConfirming(true))}>Delete</button>
    <//>
    <div class="record-layout">
      <div class="record-main">
        <section class="panel" aria-labelledby="details-title">
          <h2 id="details-title">Details</h2>
          <dl class="record-fields">
            ${object.fields.map((f) => html`<div class=${`record-field type-${f.type}`} key=${f.apiName}>
              <dt>${f.label}</dt>
              <dd><${FieldValue} field=${f} value=${record[f.apiName]} objects=${objects} users=${users} /></dd>
            </div>`)}
          </dl>
          <dl class="record-fields system">
            ${SYSTEM_FIELDS.filter((f) => f.apiName !== "updated_by").map((f) => html`<div class="record-field" key=${f.apiName}>
              <dt>${f.label}</dt>
              <dd><${FieldValue} field=${f} value=${record[f.apiName]} objects=${objects} users=${users} /></dd>
            </div>`)}
          </dl>
        </section>
        <${Timeline} object=${object} record=${record} history=${history} users=${users} objects=${objects} />
      </div>
      <aside class="record-related" aria-label="Related records">
        <h2>Related</h2>
        ${object.relations.length ? null : html`<p class="muted">No other records link here.</p>`}
        ${object.relations.map((rel) => objects.byName[rel.sourceObject]
          ? html`<${RelatedList} key=${rel.name} relation=${rel} source=${objects.byName[rel.sourceObject]}
              connection=${record[rel.name]} recordId=${id} object=${object} />`
          : null)}
      </aside>
    </div>
    <${Dialog} open=${confirming} title=${`Delete ${object.labelSingular.toLowerCase()}?`} onClose=${() => setConfirming(false)}>
      <p>Delete “${title}”? It goes to the recycle bin, from which an admin can restore it.</p>
      <${ErrorBanner} error=${deleteError} />
      <div class="row dialog-actions">
        <button type="button" class="danger" disabled=${deleting} onClick=${remove}>${deleting ? "Deleting…" : "Delete"}</button>
        <button type="button" onClick=${() => setConfirming(false)}>Cancel</button>
      </div>
    <//>
  </div>`;
}
