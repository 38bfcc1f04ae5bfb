import { html, useEffect, useState } from "../vendor/preact-htm.js";
import { metadata } from "../api.js";
import { href } from "../router.js";
import { ErrorBanner, Loading, PageHeader } from "../components/ui.js";

export default function Home() {
  const [objects, setObjects] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    metadata("{ workspace { name } objects { apiName labelPlural description } }").then(
      (data) => setObjects(data.objects),
      setError,
    );
  }, []);
  if (error) return html`<${ErrorBanner} error=${error} />`;
  if (!objects) return html`<${Loading} />`;
  return html`
    <${PageHeader} title="Home" />
    <ul class="cards">
      ${objects.map(
        (o) => html`<li><a href=${href(`/records/${o.apiName}`)}><strong>${o.labelPlural}</strong>
          <span>${o.description}</span></a></li>`,
      )}
    </ul>`;
}
