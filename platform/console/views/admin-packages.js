// Packages: what is installed; install or upgrade from an archive (.zip, sent base64) after
// a preview of what it will create or change; uninstall, keeping the data or deleting it.
import { html, useEffect, useState } from "../vendor/preact-htm.js";
import { metadata } from "../api.js";
import { Dialog, Empty, ErrorBanner, Loading, PageHeader, when } from "../components/ui.js";

const LIST = "{ installedPackages { name version installedAt installedBy dependencies owned } }";
const CHANGE = "package version applied fromVersion objects fields workflows roles views records plan conflicts kept metadataVersion";
const INSTALL = `mutation($archive: String, $source: String, $sampleData: Boolean!, $dryRun: Boolean!) {
  installPackage(archive: $archive, source: $source, sampleData: $sampleData, dryRun: $dryRun) { ${CHANGE} } }`;
const UPGRADE = `mutation($archive: String, $source: String, $dryRun: Boolean!) {
  upgradePackage(archive: $archive, source: $source, dryRun: $dryRun) { ${CHANGE} } }`;
const UNINSTALL = `mutation($name: String!, $deleteData: Boolean!) {
  uninstallPackage(name: $name, deleteData: $deleteData) { package keptData export } }`;

// A file's content as base64 (without the data: URL prefix).
function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(new Error(`The file ${file.name} could not be read.`));
    reader.readAsDataURL(file);
  });
}

function Problems({ error }) {
  if (!error) return null;
  const problems = (error.problems || []).filter((p) => p.message);
  return html`<div class="error-banner" role="alert">
    <p>${error.message}${error.code && error.code !== "UNKNOWN" ? html` <code>${error.code}</code>` : null}</p>
    ${problems.length > 1 || (problems[0] && (problems[0].inputPath || []).length)
      ? html`<ul>${problems.map((p) => html`<li>${(p.inputPath || []).length ? html`<code>${(p.inputPath || []).join(".")}</code>: ` : null}${p.message}</li>`)}</ul>`
      : null}
  </div>`;
}

function List({ title, items }) {
  if (!items || !items.length) return null;
  return html`<div><h4>${title} (${items.length})</h4><ul class="change-list">${items.map((x) => html`<li><code>${x}</code></li>`)}</ul></div>`;
}

// What an install or upgrade does (or, previewed, would do).
export function ChangeSummary({ change }) {
  const records = Object.entries(change.records || {});
  const plan = Array.isArray(change.plan) ? change.plan : [];
  const conflicts = Array.isArray(change.conflicts) ? change.conflicts : [];
  return html`<section class="panel change-summary" aria-label="What it changes">
    <h3>${change.package} ${change.fromVersion ? html`${change.fromVersion} → ` : null}${change.version}
      ${change.applied ? html` <span class="badge status-succeeded">done</span>` : html` <span class="badge status-draft">preview: nothing changed yet</span>`}</h3>
    ${conflicts.length ? html`<div class="conflicts" role="region" aria-label="Conflicts">
      <h4>Conflicts (${conflicts.length}): your value is kept</h4>
      <ul class="change-list">${conflicts.map((c) => html`<li><code>${c.path ? [].concat(c.path).join(".") : ""}</code> ${c.message} ${c.code ? html`<span class="badge">${c.code}</span>` : null}</li>`)}</ul>
    </div>` : change.fromVersion ? html`<p>No conflicts.</p>` : null}
    <div class="grid-2">
      <${List} title="Objects" items=${change.objects} />
      <${List} title="Fields" items=${change.fields} />
      <${List} title="Workflows" items=${change.workflows} />
      <${List} title="Roles" items=${change.roles} />
      <${List} title="Saved views" items=${change.views} />
      <${List} title="Kept as they are (dropped by the new version)" items=${change.kept} />
      ${records.length ? html`<div><h4>Sample records</h4><ul class="change-list">${records.map(([o, n]) => html`<li>${n} <code>${o}</code></li>`)}</ul></div>` : null}
    </div>
    ${plan.length ? html`<details><summary>Database changes (${plan.length} step${plan.length === 1 ? "" : "s"})</summary>
      <ol>${plan.map((step) => html`<li>${step.description}${step.destructive ? html` <span class="badge status-failed">deletes data</span>` : null}
        ${step.sql && step.sql.length ? html`<pre>${step.sql.join("\n")}</pre>` : null}</li>`)}</ol>
    </details>` : null}
  </section>`;
}

function Installer({ onDone }) {
  const [file, setFile] = useState(null);
  const [sampleData, setSampleData] = useState(true);
  const [preview, setPreview] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(null);
  const run = async (dryRun) => {
    setBusy(true); setError(null); setDone(null);
    try {
      const archive = await readBase64(file);
      const data = await metadata(INSTALL, { archive, source: null, sampleData, dryRun });
      if (dryRun) setPreview(data.installPackage);
      else { setPreview(null); setDone(data.installPackage); setFile(null); onDone(); }
    } catch (failure) { setError(failure); if (dryRun) setPreview(null); } finally { setBusy(false); }
  };
  return html`<section class="panel" aria-labelledby="install-title">
    <h2 id="install-title">Install a package</h2>
    <div class="row">
      <div class="field grow">
        <label for="pkg-archive">Package archive</label>
        <input id="pkg-archive" type="file" accept=".zip,application/zip" aria-describedby="pkg-archive-hint"
          onChange=${(e) => { setFile(e.target.files[0] || null); setPreview(null); setError(null); setDone(null); }} />
        <p class="hint" id="pkg-archive-hint">A .zip with package.yaml at its root (see templates/README.md).</p>
      </div>
      <label class="checkbox-inline"><input type="checkbox" checked=${sampleData}
        onChange=${(e) => { setSampleData(e.target.checked); setPreview(null); }} /> Include sample data</label>
    </div>
    <div class="row">
      <button type="button" disabled=${!file || busy} onClick=${() => run(true)}>Preview</button>
      <button type="button" class="primary" disabled=${!file || !preview || busy} onClick=${() => run(false)}
        title=${preview ? "" : "Preview first"}>Install</button>
      ${busy ? html`<span class="muted" role="status">Working…</span>` : null}
    </div>
    <div aria-live="polite">
      <${Problems} error=${error} />
      ${preview ? html`<${ChangeSummary} change=${preview} />` : null}
      ${done ? html`<p class="ok-banner" role="status">Installed ${done.package} ${done.version}.</p><${ChangeSummary} change=${done} />` : null}
    </div>
  </section>`;
}

function Upgrader({ pkg, onClose, onDone }) {
  const [file, setFile] = useState(null);
  const [preview, setPreview] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(null);
  const run = async (dryRun) => {
    setBusy(true); setError(null);
    try {
      const archive = await readBase64(file);
      const data = await metadata(UPGRADE, { archive, source: null, dryRun });
      if (data.upgradePackage.package !== pkg.name) {
        throw new Error(`That archive is the package ${data.upgradePackage.package}, not ${pkg.name}.`);
      }
      if (dryRun) setPreview(data.upgradePackage);
      else { setDone(data.upgradePackage); setPreview(null); onDone(); }
    } catch (failure) { setError(failure); } finally { setBusy(false); }
  };
  return html`<div>
    ${done ? html`<p class="ok-banner" role="status">Upgraded ${done.package} to ${done.version}.</p><${ChangeSummary} change=${done} />
      <div class="dialog-actions"><button type="button" class="primary" onClick=${onClose}>Close</button></div>` : html`
    <p>Installed: <strong>${pkg.name} ${pkg.version}</strong>. What you customised is kept; conflicts are listed.</p>
    <div class="field">
      <label for="pkg-upgrade-archive">New version archive</label>
      <input id="pkg-upgrade-archive" type="file" accept=".zip,application/zip"
        onChange=${(e) => { setFile(e.target.files[0] || null); setPreview(null); setError(null); }} />
    </div>
    <${Problems} error=${error} />
    ${preview ? html`<${ChangeSummary} change=${preview} />` : null}
    <div class="dialog-actions">
      <button type="button" onClick=${onClose}>Close</button>
      <button type="button" disabled=${!file || busy} onClick=${() => run(true)}>Preview upgrade</button>
      <button type="button" class="primary" disabled=${!preview || busy} onClick=${() => run(false)}>Upgrade</button>
    </div>`}
  </div>`;
}

function Uninstaller({ pkg, onClose, onDone }) {
  const [deleteData, setDeleteData] = useState(false);
  const [typed, setTyped] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(null);
  const owned = pkg.owned || {};
  const count = (k) => (Array.isArray(owned[k]) ? owned[k].length : owned[k] && typeof owned[k] === "object" ? Object.keys(owned[k]).length : 0);
  const go = async () => {
    setBusy(true); setError(null);
    try {
      const data = await metadata(UNINSTALL, { name: pkg.name, deleteData });
      setDone(data.uninstallPackage);
      onDone();
    } catch (failure) { setError(failure); } finally { setBusy(false); }
  };
  if (done) {
    return html`<div>
      <p class="ok-banner" role="status">Uninstalled ${done.package}. ${done.keptData ? "Its objects, fields and records were kept." : "Its objects and fields were deleted."}
        ${done.export ? html` Its records were exported to <code>${done.export}</code> on the server.` : null}</p>
      <div class="dialog-actions"><button type="button" class="primary" onClick=${onClose}>Close</button></div>
    </div>`;
  }
  return html`<div>
    <p>Removes the workflows, roles and saved views of <strong>${pkg.name} ${pkg.version}</strong>${" "}
      (${count("workflows")} workflows, ${count("roles")} roles, ${count("views")} views).
      Its records are exported to a file on the server first.</p>
    <fieldset class="radio-list">
      <legend>Its data (${count("objects")} objects, ${count("fields")} fields)</legend>
      <label><input type="radio" name="pkg-data" checked=${!deleteData} onChange=${() => setDeleteData(false)} />
        <span>Keep its objects, fields and records (they become the workspace's own)</span></label>
      <label><input type="radio" name="pkg-data" checked=${deleteData} onChange=${() => setDeleteData(true)} />
        <span>Delete its objects, fields and records</span></label>
    </fieldset>
    ${deleteData ? html`<div class="field">
      <label for="pkg-confirm">Type the package's name to delete its data</label>
      <input id="pkg-confirm" type="text" autocomplete="off" value=${typed} onInput=${(e) => setTyped(e.target.value)} />
    </div>` : null}
    <${Problems} error=${error} />
    <div class="dialog-actions">
      <button type="button" onClick=${onClose}>Keep the package</button>
      <button type="button" class="danger" disabled=${busy || (deleteData && typed !== pkg.name)} onClick=${go}>
        ${deleteData ? "Uninstall and delete data" : "Uninstall"}</button>
    </div>
  </div>`;
}

export default function AdminPackages() {
  const [packages, setPackages] = useState(null);
  const [error, setError] = useState(null);
  const [upgrading, setUpgrading] = useState(null);
  const [removing, setRemoving] = useState(null);
  const reload = () => metadata(LIST).then((d) => { setPackages(d.installedPackages); setError(null); }, setError);
  useEffect(() => { reload(); }, []);
  return html`
    <${PageHeader} title="Packages" />
    <${ErrorBanner} error=${error} />
    <section class="panel" aria-labelledby="installed-title">
      <h2 id="installed-title">Installed</h2>
      ${!packages ? html`<${Loading} />` : packages.length === 0 ? html`<${Empty}>No package is installed.</${Empty}>` : html`
      <table class="data">
        <thead><tr><th scope="col">Name</th><th scope="col">Version</th><th scope="col">Installed at</th>
          <th scope="col">Installed by</th><th scope="col">Depends on</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>${packages.map((p) => html`<tr>
          <th scope="row">${p.name}</th>
          <td>${p.version}</td>
          <td>${when(p.installedAt)}</td>
          <td>${p.installedBy}</td>
          <td>${Object.entries(p.dependencies || {}).map(([n, r]) => html`<code>${n} ${r}</code> `)}</td>
          <td><div class="row tight">
            <button type="button" aria-label=${`Upgrade ${p.name}`} onClick=${() => setUpgrading(p)}>Upgrade…</button>
            <button type="button" class="danger" aria-label=${`Uninstall ${p.name}`} onClick=${() => setRemoving(p)}>Uninstall…</button>
          </div></td>
        </tr>`)}</tbody>
      </table>`}
    </section>
    <${Installer} onDone=${reload} />
    <${Dialog} open=${!!upgrading} title=${upgrading ? `Upgrade ${upgrading.name}` : "Upgrade"} onClose=${() => setUpgrading(null)}>
      ${upgrading ? html`<${Upgrader} pkg=${upgrading} onClose=${() => setUpgrading(null)} onDone=${reload} />` : null}
    </${Dialog}>
    <${Dialog} open=${!!removing} title=${removing ? `Uninstall ${removing.name}` : "Uninstall"} onClose=${() => setRemoving(null)}>
      ${removing ? html`<${Uninstaller} pkg=${removing} onClose=${() => setRemoving(null)} onDone=${reload} />` : null}
    </${Dialog}>`;
}
