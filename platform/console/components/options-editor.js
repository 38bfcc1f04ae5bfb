// The choices of a select or multi-select field: value, label, colour, retired; reordered
// by drag and drop (HTML5) or, from the keyboard, with the "Move up" / "Move down" buttons.
import { html, useEffect, useRef, useState } from "../vendor/preact-htm.js";
import { Field } from "./ui.js";

// The palette names the server accepts, shown in a colour input as these.
export const PALETTE = {
  gray: "#8a919c", red: "#d64545", orange: "#e8833a", yellow: "#e3b924", green: "#2f9e57",
  teal: "#1f9a9a", blue: "#2f6fd3", purple: "#7d4fc9", pink: "#d24f95",
};

let nextKey = 1;
// A row as the editor keeps it: the server's choice plus a client-only key (_k).
export function withKeys(choices) {
  return (choices || []).map((c) => ({ ...c, _k: nextKey++ }));
}
// The choices as the API takes them (no client keys, no empty colours).
export function withoutKeys(rows) {
  return rows.map(({ _k, _touched, ...c }) => {
    const out = { ...c };
    if (out.color === null || out.color === undefined || out.color === "") delete out.color;
    if (!out.label) delete out.label;
    if (!out.retired) delete out.retired;
    return out;
  });
}

function snake(text) {
  return text.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 64);
}

// The problems of `error` under `prefix` (an input path), re-rooted at `name`: what Field shows.
export function errorAt(error, prefix, name = prefix[prefix.length - 1]) {
  if (!error || !error.problems) return null;
  const problems = error.problems.filter((p) => {
    const path = (p.inputPath || []).map(String);
    return prefix.every((seg, i) => path[i] === String(seg));
  });
  return problems.length ? { ...error, problems: problems.map((p) => ({ ...p, inputPath: [name] })) } : null;
}

export function OptionsEditor({ rows, onChange, error, idPrefix = "opt", basePath = ["input", "options", "choices"] }) {
  const [dragging, setDragging] = useState(null);
  const [over, setOver] = useState(null);
  const [status, setStatus] = useState("");
  const focusAfter = useRef(null);

  useEffect(() => {
    if (!focusAfter.current) return;
    const el = document.getElementById(focusAfter.current);
    focusAfter.current = null;
    if (el) el.focus();
  });

  const update = (index, patch) => onChange(rows.map((r, i) => (i === index ? { ...r, ...patch } : r)));

  function move(from, to, focusId) {
    if (to < 0 || to >= rows.length || from === to) return;
    const next = rows.slice();
    const [row] = next.splice(from, 1);
    next.splice(to, 0, row);
    onChange(next);
    setStatus(`Option ${row.label || row.value || from + 1} moved to position ${to + 1} of ${rows.length}.`);
    if (focusId) focusAfter.current = focusId(row);
  }

  function add() {
    const row = { value: "", label: "", color: null, _k: nextKey++ };
    onChange([...rows, row]);
    focusAfter.current = `${idPrefix}-${row._k}-value`;
  }

  function remove(index) {
    const row = rows[index];
    onChange(rows.filter((_, i) => i !== index));
    setStatus(`Option ${row.label || row.value || index + 1} removed.`);
    focusAfter.current = "add-option-" + idPrefix;
  }

  const listError = error && error.problems
    ? error.problems.filter((p) => {
        const path = (p.inputPath || []).map(String);
        const under = basePath.every((s, i) => path[i] === String(s));
        return under && (path.length === basePath.length
          || !["value", "label", "color", "retired"].includes(path[basePath.length + 1]));
      })
    : [];

  return html`
    <fieldset class="options-editor">
      <legend>Options</legend>
      <p class="hint">Drag an option by its handle, or use Move up and Move down, to change the order.
        A retired option stays on existing records but cannot be chosen any more.</p>
      ${listError.length
        ? html`<p class="field-error" role="alert">${listError.map((p) => p.message).join(" ")}</p>` : null}
      <ol class="option-rows">
        ${rows.map((row, index) => {
          const base = `${idPrefix}-${row._k}`;
          const rowError = (key) => errorAt(error, [...basePath, index, key]);
          const colourValue = row.color && row.color.startsWith("#") ? row.color : PALETTE[row.color] || "#8a919c";
          return html`
            <li key=${row._k} role="group" aria-label=${`Option ${index + 1}`}
              class=${"option-row" + (dragging === index ? " dragging" : "") + (over === index && dragging !== null && dragging !== index ? " drop-target" : "")}
              onDragOver=${(e) => { if (dragging !== null) { e.preventDefault(); e.dataTransfer.dropEffect = "move"; setOver(index); } }}
              onDragLeave=${() => setOver((o) => (o === index ? null : o))}
              onDrop=${(e) => {
                e.preventDefault();
                const from = dragging !== null ? dragging : Number(e.dataTransfer.getData("text/plain"));
                setDragging(null);
                setOver(null);
                if (!Number.isNaN(from)) move(from, index);
              }}>
              <span class="drag-handle" draggable="true" title="Drag to reorder" aria-hidden="true"
                onDragStart=${(e) => {
                  setDragging(index);
                  e.dataTransfer.effectAllowed = "move";
                  e.dataTransfer.setData("text/plain", String(index));
                  const li = e.currentTarget.closest("li");
                  if (li && e.dataTransfer.setDragImage) e.dataTransfer.setDragImage(li, 10, 10);
                }}
                onDragEnd=${() => { setDragging(null); setOver(null); }}>⠿</span>
              <span class="option-position" aria-hidden="true">${index + 1}</span>
              <${Field} label="Option value" name="value" id=${`${base}-value`} error=${rowError("value")}>
                ${({ id, describedBy, invalid }) => html`<input id=${id} aria-describedby=${describedBy} aria-invalid=${invalid}
                  value=${row.value} required pattern="[a-z0-9][a-z0-9_]*" maxlength="64" spellcheck="false"
                  onInput=${(e) => update(index, { value: e.target.value, _touched: true })} />`}
              <//>
              <${Field} label="Option label" name="label" id=${`${base}-label`} error=${rowError("label")}>
                ${({ id, describedBy, invalid }) => html`<input id=${id} aria-describedby=${describedBy} aria-invalid=${invalid}
                  value=${row.label || ""} maxlength="200"
                  onInput=${(e) => {
                    const label = e.target.value;
                    const patch = { label };
                    if (!row.id && !row._touched) patch.value = snake(label);
                    update(index, patch);
                  }} />`}
              <//>
              <${Field} label="Option colour" name="color" id=${`${base}-color`} error=${rowError("color")}>
                ${({ id, describedBy, invalid }) => html`<input id=${id} type="color" aria-describedby=${describedBy}
                  aria-invalid=${invalid} value=${colourValue} class=${row.color ? "" : "no-colour"}
                  onInput=${(e) => update(index, { color: e.target.value })} />`}
              <//>
              ${row.id
                ? html`<label class="check option-retired"><input type="checkbox" checked=${!!row.retired}
                    onChange=${(e) => update(index, { retired: e.target.checked })} /> Retired</label>`
                : null}
              <div class="option-actions">
                <button type="button" id=${`${base}-up`} disabled=${index === 0}
                  onClick=${() => move(index, index - 1, (r) => (index - 1 === 0 ? `${idPrefix}-${r._k}-down` : `${idPrefix}-${r._k}-up`))}>Move up</button>
                <button type="button" id=${`${base}-down`} disabled=${index === rows.length - 1}
                  onClick=${() => move(index, index + 1, (r) => (index + 1 === rows.length - 1 ? `${idPrefix}-${r._k}-up` : `${idPrefix}-${r._k}-down`))}>Move down</button>
                <button type="button" class="danger" onClick=${() => remove(index)}>Remove</button>
              </div>
            </li>`;
        })}
      </ol>
      ${rows.length === 0 ? html`<p class="empty">No options yet.</p>` : null}
      <button type="button" id=${"add-option-" + idPrefix} onClick=${add}>Add option</button>
      <p class="visually-hidden" role="status" aria-live="polite">${status}</p>
    </fieldset>`;
}
