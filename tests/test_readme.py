"""The README's API examples, run verbatim against the app, in order."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from starlette.testclient import TestClient

README = Path(__file__).parent.parent / "README.md"
EXAMPLE = re.compile(r"<!-- example: (?P<name>[\w-]+) -->\n```(?P<lang>\w+)\n(?P<body>.*?)\n```", re.S)


def readme_examples() -> list[tuple[str, str, str]]:
    return [(m["name"], m["lang"], m["body"]) for m in EXAMPLE.finditer(README.read_text())]


def curl_request(command: str) -> tuple[str, dict[str, str], str]:
    """(path, headers, body) of a README curl command."""
    words = shlex.split(command.replace("\\\n", " "))
    assert words[0] == "curl"
    url = next(w for w in words if w.startswith("http"))
    headers = dict(words[i + 1].split(": ", 1) for i, w in enumerate(words) if w == "-H")
    body = words[words.index("-d") + 1]
    return "/" + url.split("/", 3)[3], headers, body


def test_readme_has_the_examples():
    names = [name for name, _, _ in readme_examples()]
    assert names == [
        "create-company",
        "create-deal",
        "list-objects",
        "preview-change",
        "change-log",
        "record-create-companies",
        "record-create-deal",
        "record-list",
        "record-nested",
        "record-aggregate",
        "record-update-many",
    ]


def test_readme_examples_run(client: TestClient):
    results = {}
    for name, lang, body in readme_examples():
        if lang == "sh":
            path, headers, payload = curl_request(body)
            headers["Authorization"] = headers["Authorization"].replace(
                "$TESSERA_API_KEY", client.headers["Authorization"].removeprefix("Bearer ")
            )
            response = client.post(path, content=payload, headers=headers)
        elif name.startswith("record-"):
            # The one placeholder: the id the first record example returned.
            if "record-create-companies" in results:
                acme = results["record-create-companies"]["createCompanies"][0]["id"]
                body = body.replace("ACME_ID", acme)
            response = client.post("/graphql", json={"query": body})
        else:
            response = client.post("/graphql/metadata", json={"query": body})
        assert response.status_code == 200, (name, response.text)
        answer = response.json()
        assert "errors" not in answer, (name, json.dumps(answer["errors"], indent=2))
        results[name] = answer["data"]
    assert results["create-company"]["createObject"]["applied"] is True
    deal = results["create-deal"]["createObject"]["object"]
    assert {f["apiName"]: f["type"] for f in deal["fields"]} == {
        "title": "text",
        "company": "lookup",
        "stage": "select",
        "amount": "currency",
    }
    company = next(o for o in results["list-objects"]["objects"] if o["apiName"] == "company")
    assert company["relations"] == [{"name": "deals", "sourceObject": "deal", "sourceField": "company"}]
    preview = results["preview-change"]["updateField"]
    assert preview["applied"] is False and preview["plan"] == [] and preview["changes"]
    assert [e["version"] for e in results["change-log"]["changeLog"]] == [2, 1]
    deal = results["record-create-deal"]["createDeal"]
    assert deal["company"] == {"name": "Acme"} and deal["stage"] == {"value": "won", "label": "Won"}
    assert deal["amount"] == {"amount": "12000.00", "currencyCode": "EUR"}
    listed = results["record-list"]["deals"]
    assert listed["totalCount"] == 1 and listed["edges"][0]["node"]["title"] == "Acme renewal"
    companies = [e["node"] for e in results["record-nested"]["companies"]["edges"]]
    assert [(c["name"], c["deals"]["totalCount"]) for c in companies] == [("Acme", 1), ("Globex", 0)]
    groups = results["record-aggregate"]["dealsAggregate"]["groups"]
    assert groups == [{"key": {"stage": {"label": "Won"}}, "count": 1, "sum": {"amount": "12000.00"}}]
    assert results["record-update-many"]["updateDeals"] == [{"title": "Acme renewal 2027"}]
