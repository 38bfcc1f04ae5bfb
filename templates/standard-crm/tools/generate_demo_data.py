#!/usr/bin/env python3
"""Write the demo data of the standard-crm package: ``data/NN_<name>.yaml``.

Deterministic — one ``random.Random(42)`` drawn in a fixed order and a fixed "today"
(``DEMO_TODAY``) — so running it twice writes identical files. Standard library and
PyYAML only::

    python templates/standard-crm/tools/generate_demo_data.py

The records are coherent: people work at companies, deals belong to a company and one of
its people, quotes to open or won deals (their lines to products at list price), cases to
customers, activities to the records they are about, and converted leads point at the
company, person and deal they became. Values are written as the record API takes them
(currency ``{amount, currency_code}``, dates ``YYYY-MM-DD``, datetimes with an offset);
``{ref: x}`` points at the record whose ``_ref`` is ``x`` in an earlier file.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).resolve().parent.parent / "data"
DEMO_TODAY = dt.date(2026, 12, 1)
UTC = dt.UTC

INDUSTRY_WORDS = {
    "saas": ["Cloud", "Software", "Apps"],
    "software": ["Systems", "Labs", "Digital"],
    "retail": ["Retail", "Stores", "Market"],
    "banking": ["Bank", "Capital", "Finance"],
    "insurance": ["Insurance", "Assurance", "Mutual"],
    "healthcare": ["Health", "Medical", "Care"],
    "manufacturing": ["Industries", "Manufacturing", "Works"],
    "education": ["Academy", "Learning", "Education"],
    "media": ["Media", "Studios", "Publishing"],
    "logistics": ["Logistics", "Freight", "Transport"],
    "energy": ["Energy", "Power", "Renewables"],
}
INDUSTRY_LABELS = {
    "saas": "SaaS",
    "software": "software",
    "retail": "retail",
    "banking": "banking",
    "insurance": "insurance",
    "healthcare": "healthcare",
    "manufacturing": "manufacturing",
    "education": "education",
    "media": "media",
    "logistics": "logistics",
    "energy": "energy",
}
STEMS = [
    "Acme", "Northwind", "Bluebird", "Copperleaf", "Silverline", "Harbor", "Summit",
    "Evergreen", "Brightpath", "Ironbridge", "Lumen", "Quantum", "Redwood", "Skyline",
    "Tidewater", "Vertex", "Wildflower", "Zenith", "Oakridge", "Pinecrest", "Granite",
    "Cobalt", "Falcon", "Meridian", "Nimbus", "Orchid", "Polaris", "Riverstone", "Sapphire",
    "Trident", "Aurora", "Beacon", "Cascade", "Driftwood", "Ember", "Fjord", "Glacier",
    "Horizon", "Juniper", "Keystone", "Lighthouse", "Mosaic", "Nova", "Obsidian", "Prism",
    "Quarry", "Sequoia", "Tundra", "Umbra", "Willow",
]  # fmt: skip
#: country → (currency, cities, phone number maker)
COUNTRIES = {
    "FR": (
        "EUR",
        ["Paris", "Lyon", "Bordeaux", "Lille"],
        lambda r: f"+33 1 {r.randint(40, 79)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}",
    ),
    "DE": (
        "EUR",
        ["Berlin", "Munich", "Hamburg", "Cologne"],
        lambda r: f"+49 30 {r.randint(2000000, 9999999)}",
    ),
    "ES": (
        "EUR",
        ["Madrid", "Barcelona", "Valencia"],
        lambda r: f"+34 91 {r.randint(100, 999)} {r.randint(10, 99)} {r.randint(10, 99)}",
    ),
    "NL": (
        "EUR",
        ["Amsterdam", "Rotterdam", "Utrecht"],
        lambda r: f"+31 20 {r.randint(100, 999)} {r.randint(1000, 9999)}",
    ),
    "GB": ("GBP", ["London", "Manchester", "Bristol"], lambda r: f"+44 20 7946 0{r.randint(100, 999)}"),
    "US": (
        "USD",
        ["New York", "San Francisco", "Austin", "Boston"],
        lambda r: f"+1 415 555 01{r.randint(10, 99)}",
    ),
}
FIRST_NAMES = [
    "Ada", "Alan", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances",
    "Tim", "Radia", "Vint", "Hedy", "John", "Katherine", "Edsger", "Sophie", "Lucas",
    "Emma", "Noah", "Chloé", "Hugo", "Léa", "Jonas", "Mia", "Lukas", "Elena", "Pablo",
    "Lucía", "Daan", "Sanne", "Oliver", "Amelia", "Harry", "Isla", "James", "Olivia",
    "Liam", "Ava", "Ethan", "Zoe", "Mateo", "Ines", "Felix", "Clara", "Marta", "Yuki", "Omar",
]  # fmt: skip
LAST_NAMES = [
    "Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie",
    "Allen", "Berners", "Perlman", "Cerf", "Lamarr", "Backus", "Johnson", "Dijkstra",
    "Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Schmidt", "Müller", "Weber",
    "Fischer", "García", "Fernández", "López", "Jansen", "de Vries", "Bakker", "Smith",
    "Brown", "Taylor", "Wilson", "Davies", "Evans", "Miller", "Moore", "Clark", "Lewis",
    "Walker", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson",
]  # fmt: skip
JOB_TITLES = [
    "Chief Executive Officer", "Chief Technology Officer", "Chief Financial Officer",
    "VP Sales", "VP Engineering", "Head of Operations", "Head of IT", "Director of Marketing",
    "Procurement Manager", "IT Manager", "Operations Manager", "Product Manager",
    "Project Manager", "Office Manager", "Software Engineer", "Data Analyst",
    "Customer Success Manager", "Finance Manager",
]  # fmt: skip
PRODUCTS = [
    # code, name, family, list price (EUR)
    ("CRM-STD", "CRM Standard (per user / year)", "software", 540),
    ("CRM-PRO", "CRM Professional (per user / year)", "software", 960),
    ("CRM-ENT", "CRM Enterprise (per user / year)", "software", 1800),
    ("SVC-DESK", "Service Desk (per agent / year)", "software", 720),
    ("MKT-AUTO", "Marketing Automation (per 10k contacts / year)", "software", 3600),
    ("ANL-BI", "Analytics Add-on (per year)", "software", 2400),
    ("INT-API", "Integration Hub (per year)", "software", 4800),
    ("SEC-SSO", "Single Sign-On Add-on (per year)", "software", 1200),
    ("STO-100", "Extra Storage 100 GB (per year)", "software", 300),
    ("IMP-START", "Implementation — Starter", "service", 4500),
    ("IMP-ADV", "Implementation — Advanced", "service", 12000),
    ("MIG-DATA", "Data Migration", "service", 6000),
    ("CONS-DAY", "Consulting Day", "service", 1200),
    ("DEV-DAY", "Custom Development Day", "service", 1400),
    ("TRN-ADMIN", "Admin Training (1 day)", "training", 1500),
    ("TRN-USER", "End-user Training (per session)", "training", 800),
    ("SUP-PREM", "Premium Support (per year)", "support", 6000),
    ("SUP-24X7", "24/7 Support (per year)", "support", 12000),
    ("HW-PHONE", "Desk Phone", "hardware", 180),
    ("HW-HEADSET", "Wireless Headset", "hardware", 120),
]
STAGES = [
    # stage, probability, how many deals
    ("prospect", 10, 14),
    ("qualification", 25, 14),
    ("proposal", 50, 14),
    ("negotiation", 75, 10),
    ("won", 100, 18),
    ("lost", 0, 10),
]
DEAL_THEMES = [
    "CRM rollout", "Service desk", "Sales team expansion", "Marketing automation",
    "Analytics add-on", "Renewal", "Integration project", "Support upgrade",
    "Subsidiary rollout", "Data migration", "SSO and security", "Training programme",
]  # fmt: skip
TASK_TOPICS = ["the proposal", "the demo", "the contract", "open questions", "the invoice", "the next steps"]
CASE_SUBJECTS = [
    ("Cannot log in after password reset", "problem"),
    ("How do I export my contacts?", "question"),
    ("Emails are not synchronised", "incident"),
    ("Invoice shows the wrong VAT number", "problem"),
    ("Request: custom field on quotes", "feature_request"),
    ("Dashboard loads slowly", "incident"),
    ("Add five more users", "question"),
    ("Import fails on a CSV with accents", "problem"),
    ("SSO configuration with Azure AD", "question"),
    ("Workflow did not send the email", "incident"),
    ("Duplicate contacts after import", "problem"),
    ("Request: dark mode", "feature_request"),
    ("API rate limit reached", "incident"),
    ("Change the billing contact", "question"),
    ("Phone numbers rejected as invalid", "problem"),
]  # fmt: skip
RESOLUTIONS = [
    "Explained the setting; the customer confirmed it works.",
    "Fixed the configuration on our side and re-ran the synchronisation.",
    "Shared the knowledge article; no further action needed.",
    "Logged as a product request and informed the customer.",
    "Corrected the data and sent a new invoice.",
    "Workaround provided; permanent fix shipped in the next release.",
]  # fmt: skip
LEAD_COMPANIES = [
    "Albatross Air", "Bramble Foods", "Cinder Robotics", "Dune Outdoor", "Elm Street Dental",
    "Foxglove Pharma", "Gull Shipping", "Hazel Architects", "Ivy League Tutors", "Jade Textiles",
    "Kestrel Security", "Larch Furniture", "Magpie Studios", "Nettle Organics", "Osprey Drones",
    "Puffin Travel", "Quill Legal", "Raven Analytics", "Sparrow Bikes", "Thistle Hotels",
    "Urchin Aquatics", "Vole Storage", "Wren Fashion", "Yarrow Wellness", "Zephyr Wind",
    "Atlas Print", "Bison Construction", "Cormorant Fisheries", "Dahlia Florists", "Egret Optics",
]  # fmt: skip


class Writer:
    """The data files, and a check that every {ref: x} names an earlier record."""

    def __init__(self) -> None:
        self.refs: set[str] = set()
        self.counts: dict[str, int] = {}

    def write(self, number: int, name: str, obj: str, records: list[dict[str, Any]]) -> None:
        for record in records:
            for key, value in record.items():
                if isinstance(value, dict) and set(value) == {"ref"}:
                    assert value["ref"] in self.refs, f"{name}: unknown ref {value['ref']} in {key}"
        for record in records:
            if "_ref" in record:
                assert record["_ref"] not in self.refs, f"duplicate _ref {record['_ref']}"
                self.refs.add(record["_ref"])
        lines = [
            "# Generated by tools/generate_demo_data.py: edit the script, not this file.",
            f"object: {obj}",
            "records:",
        ]
        for record in records:
            lines.append("  - " + dump_record(record))
        (DATA / f"{number:02d}_{name}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.counts[obj] = self.counts.get(obj, 0) + len(records)


class BlockDumper(yaml.SafeDumper):
    """Writes text that spans lines as a literal block (``|``)."""


BlockDumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)


def dump_record(record: dict[str, Any]) -> str:
    """One record: a one-line flow mapping, or a block (indented) when a value spans lines."""
    if any(isinstance(v, str) and "\n" in v for v in record.values()):
        block = yaml.dump(
            record,
            Dumper=BlockDumper,
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=False,
            width=100,
        )
        return "\n".join(("    " + line) if line else line for line in block.rstrip("\n").split("\n"))[4:]
    return yaml.safe_dump(
        record, sort_keys=False, allow_unicode=True, default_flow_style=True, width=10**6
    ).rstrip("\n")


def slug(text: str) -> str:
    ascii_text = text.lower().translate(str.maketrans("éèêëàâäôöüûùçíóñá", "eeeeaaaoouuuciona"))
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def money(amount: float | int, code: str) -> dict[str, str]:
    return {"amount": f"{amount:.2f}", "currency_code": code}


def day(offset: int) -> str:
    return (DEMO_TODAY + dt.timedelta(days=offset)).isoformat()


def moment(day_offset: int, hour: int, minute: int = 0) -> str:
    """DEMO_TODAY + day_offset days, at hour:minute UTC (hours past 23 roll over)."""
    base = dt.datetime.combine(DEMO_TODAY, dt.time(0, 0), tzinfo=UTC)
    return (base + dt.timedelta(days=day_offset, hours=hour, minutes=minute)).isoformat()


def main() -> None:
    rng = random.Random(42)
    DATA.mkdir(exist_ok=True)
    for old in DATA.glob("*.yaml"):
        old.unlink()
    out = Writer()

    # -- the round-robin rotation: ten slots, owned by nobody until an admin assigns reps
    out.write(
        1,
        "lead_assignment_slots",
        "lead_assignment_slot",
        [{"slot": n, "label": f"Leads ending in {n}", "active": True} for n in range(10)],
    )

    # -- companies (36) and subsidiaries (4, a later file: a ref needs an earlier file)
    stems = rng.sample(STEMS, 40)
    industries = list(INDUSTRY_WORDS)
    companies: list[dict[str, Any]] = []
    for i, stem in enumerate(stems):
        industry = industries[i % len(industries)] if i < 33 else rng.choice(industries)
        name = f"{stem} {rng.choice(INDUSTRY_WORDS[industry])}"
        country = rng.choice(list(COUNTRIES))
        currency, cities, phone = COUNTRIES[country]
        employees = rng.choice([12, 25, 40, 80, 150, 250, 400, 800, 1500, 3000, 8000])
        revenue = employees * rng.randint(60, 220) * 1000
        city = rng.choice(cities)
        relationship = rng.choices(
            ["customer", "prospect", "partner", "former_customer"], weights=[45, 40, 10, 5]
        )[0]
        companies.append(
            {
                "_ref": f"company_{i + 1:02d}",
                "name": name,
                "website": f"https://{slug(stem)}.example",
                "industry": industry,
                "relationship": relationship,
                "employees": employees,
                "annual_revenue": money(revenue, currency),
                "phone": phone(rng),
                "city": city,
                "country": country,
                "description": f"{name}: {INDUSTRY_LABELS.get(industry, industry)} company based in {city}.",
            }
        )
    for child in companies[36:]:
        child["parent"] = {"ref": rng.choice(companies[:36])["_ref"]}
        child["description"] = f"Subsidiary of the group; {child['description']}"
    out.write(2, "companies", "company", companies[:36])
    out.write(3, "subsidiaries", "company", companies[36:])

    # -- people: 3 per company
    people: list[dict[str, Any]] = []
    people_of: dict[str, list[dict[str, Any]]] = {}
    used_emails: set[str] = set()
    for company in companies:
        country = company["country"]
        for k in range(3):
            while True:
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                email = f"{slug(first)}.{slug(last)}@{company['website'].removeprefix('https://')}"
                if email not in used_emails:
                    used_emails.add(email)
                    break
            person = {
                "_ref": f"person_{len(people) + 1:03d}",
                "first_name": first,
                "last_name": last,
                "email": email,
                "phone": COUNTRIES[country][2](rng),
                "job_title": JOB_TITLES[0] if k == 0 and rng.random() < 0.3 else rng.choice(JOB_TITLES),
                "company": {"ref": company["_ref"]},
                "linkedin": f"https://www.linkedin.com/in/{slug(first)}-{slug(last)}-{rng.randint(100, 999)}",
                "do_not_contact": rng.random() < 0.05,
                "city": company["city"],
            }
            people.append(person)
            people_of.setdefault(company["_ref"], []).append(person)
    out.write(4, "people", "person", people)

    # -- products
    products = [
        {
            "_ref": f"product_{code.lower().replace('-', '_')}",
            "name": name,
            "code": code,
            "family": family,
            "unit_price": money(price, "EUR"),
            "active": code != "HW-PHONE",
            "description": f"{name}.",
        }
        for code, name, family, price in PRODUCTS
    ]
    out.write(5, "products", "product", products)

    # -- campaigns and their members
    campaigns = [
        (
            "campaign_webinar",
            "Webinar: Automate your sales process",
            "webinar",
            "completed",
            -75,
            -75,
            4000,
            60000,
        ),
        ("campaign_summit", "Customer Summit 2026", "event", "completed", -40, -38, 25000, 180000),
        ("campaign_q4_email", "Q4 upgrade offer", "email", "active", -30, 30, 3000, 90000),
        ("campaign_partners", "Partner referral programme", "partner", "active", -120, 60, 8000, 120000),
        ("campaign_2027_ads", "Spring 2027 search ads", "advertising", "planned", 60, 150, 15000, 100000),
    ]
    out.write(
        6,
        "campaigns",
        "campaign",
        [
            {
                "_ref": ref,
                "name": name,
                "type": kind,
                "status": status,
                "start_date": day(start),
                "end_date": day(end),
                "budget": money(budget, "EUR"),
                "expected_revenue": money(revenue, "EUR"),
                "description": f"{name} ({kind}).",
            }
            for ref, name, kind, status, start, end, budget, revenue in campaigns
        ],
    )
    members = []
    for ref, _name, _kind, status, *_ in campaigns[:4]:
        statuses = (
            ["invited", "opened", "responded", "registered", "attended", "unsubscribed"]
            if status == "completed"
            else ["invited", "opened", "responded", "unsubscribed"]
        )
        weights = [30, 25, 15, 10, 15, 5] if status == "completed" else [50, 30, 15, 5]
        for person in rng.sample(people, 15):
            members.append(
                {
                    "campaign": {"ref": ref},
                    "person": {"ref": person["_ref"]},
                    "status": rng.choices(statuses, weights=weights)[0],
                }
            )
    out.write(7, "campaign_members", "campaign_member", members)

    # -- deals across every stage, at companies (not the former customers), with a contact there
    open_companies = [c for c in companies if c["relationship"] != "former_customer"]
    deals: list[dict[str, Any]] = []
    sources = ["web", "referral", "event", "partner", "cold_call", "advertising"]
    for stage, probability, count in STAGES:
        for _ in range(count):
            company = rng.choice(open_companies)
            contact = rng.choice(people_of[company["_ref"]])
            currency = company["annual_revenue"]["currency_code"]
            size = company["employees"]
            amount = round(rng.uniform(0.6, 1.6) * (8000 + size * 40) / 500) * 500
            deal: dict[str, Any] = {
                "_ref": f"deal_{len(deals) + 1:02d}",
                "title": f"{company['name']} — {rng.choice(DEAL_THEMES)}",
                "company": {"ref": company["_ref"]},
                "contact": {"ref": contact["_ref"]},
                "stage": stage,
                "probability": probability,
                "amount": money(amount, currency),
                "margin": rng.choice([35, 40, 45, 50, 55, 60, 65, 70]),
                "type": rng.choices(["new_business", "upsell", "renewal"], weights=[60, 25, 15])[0],
                "lead_source": rng.choice(sources),
            }
            if stage in ("won", "lost"):
                closed = -rng.randint(3, 150)
                deal["expected_close_date"] = day(closed)
                deal["closed_at"] = moment(closed, rng.randint(8, 17), rng.choice([0, 15, 30, 45]))
                if stage == "lost":
                    deal["lost_reason"] = rng.choice(
                        ["price", "competitor", "no_budget", "no_decision", "timing"]
                    )
            else:
                deal["expected_close_date"] = day(rng.randint(-10, 150))
                deal["next_step"] = rng.choice(
                    [
                        "Send proposal",
                        "Demo with IT",
                        "Call the CFO",
                        "Security review",
                        "Contract redlines",
                        "Pricing call",
                    ]
                )
            deals.append(deal)
    out.write(8, "deals", "deal", deals)

    # -- leads: 52 in progress or disqualified, 8 converted into deals made above
    campaign_refs = [c[0] for c in campaigns[:4]]
    leads: list[dict[str, Any]] = []
    lead_names = list(LEAD_COMPANIES)
    rng.shuffle(lead_names)
    statuses = ["new"] * 16 + ["working"] * 16 + ["qualified"] * 10 + ["disqualified"] * 10
    rng.shuffle(statuses)
    for i, status in enumerate(statuses):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company_name = lead_names[i % len(lead_names)]
        domain = f"{slug(company_name)}.example"
        lead: dict[str, Any] = {
            "first_name": first,
            "last_name": last,
            "email": f"{slug(first)}.{slug(last)}@{domain}",
            "phone": COUNTRIES["FR"][2](rng) if rng.random() < 0.5 else COUNTRIES["DE"][2](rng),
            "company_name": company_name,
            "job_title": rng.choice(JOB_TITLES),
            "website": f"https://{domain}",
            "industry": rng.choice(industries),
            "source": rng.choice(sources),
            "status": status,
            "rating": rng.choices(["hot", "warm", "cold"], weights=[25, 45, 30])[0],
            "estimated_value": money(round(rng.uniform(5000, 80000) / 500) * 500, "EUR"),
        }
        if lead["source"] in ("event", "advertising", "web") and rng.random() < 0.6:
            lead["campaign"] = {"ref": rng.choice(campaign_refs)}
        if status == "disqualified":
            lead["disqualification_reason"] = rng.choice(
                ["no_budget", "no_need", "no_authority", "competitor", "unreachable", "duplicate"]
            )
            lead["rating"] = "cold"
        leads.append(lead)
    qualified_deals = [d for d in deals if d["stage"] not in ("prospect", "lost")]
    for deal in rng.sample(qualified_deals, 8):
        contact = next(p for p in people if p["_ref"] == deal["contact"]["ref"])
        company = next(c for c in companies if c["_ref"] == deal["company"]["ref"])
        converted = -rng.randint(20, 200)
        leads.append(
            {
                "first_name": contact["first_name"],
                "last_name": contact["last_name"],
                "email": contact["email"],
                "phone": contact["phone"],
                "company_name": company["name"],
                "job_title": contact["job_title"],
                "website": company["website"],
                "industry": company["industry"],
                "source": deal["lead_source"],
                "status": "converted",
                "rating": "hot",
                "estimated_value": deal["amount"],
                "converted_at": moment(converted, rng.randint(8, 17), rng.choice([0, 30])),
                "converted_company": {"ref": company["_ref"]},
                "converted_person": {"ref": contact["_ref"]},
                "converted_deal": {"ref": deal["_ref"]},
                "round_robin": False,
            }
        )
    out.write(9, "leads", "lead", leads)

    # -- quotes on deals in proposal, negotiation or won, with 2 to 4 lines each
    quotable = [d for d in deals if d["stage"] in ("proposal", "negotiation", "won")]
    quotes, lines = [], []
    status_of = {"proposal": ["draft", "sent"], "negotiation": ["sent", "rejected"], "won": ["accepted"]}
    for n, deal in enumerate(rng.sample(quotable, 15), start=1):
        status = rng.choice(status_of[deal["stage"]])
        quote_ref = f"quote_{n:02d}"
        quotes.append(
            {
                "_ref": quote_ref,
                "title": f"Offer — {deal['title']}",
                "deal": {"ref": deal["_ref"]},
                "contact": deal["contact"],
                "status": status,
                "valid_until": day(rng.randint(-20, 60) if status != "accepted" else -rng.randint(5, 60)),
                "terms": "Prices excluding VAT. Payment 30 days from invoice. "
                "Subscriptions billed yearly in advance.",
            }
        )
        currency = deal["amount"]["currency_code"]
        for code, _name, _family, price in rng.sample(PRODUCTS[:18], rng.randint(2, 4)):
            per_seat = "per user" in _name or "per agent" in _name
            lines.append(
                {
                    "quote": {"ref": quote_ref},
                    "product": {"ref": f"product_{code.lower().replace('-', '_')}"},
                    "description": _name,
                    "quantity": str(
                        rng.choice([5, 10, 15, 25, 40, 60]) if per_seat else rng.choice([1, 1, 2, 3, 5])
                    ),
                    "unit_price": money(price, currency),
                    "discount": rng.choice([0, 0, 0, 5, 10, 15, 20]),
                }
            )
    out.write(10, "quotes", "quote", quotes)
    out.write(11, "quote_lines", "quote_line", lines)

    # -- cases from customers (and partners)
    customers = [c for c in companies if c["relationship"] in ("customer", "partner")]
    won = [d for d in deals if d["stage"] == "won"]
    sla_hours = {"urgent": 1, "high": 4, "normal": 24, "low": 72}
    cases: list[dict[str, Any]] = []
    statuses = ["closed"] * 26 + ["new"] * 6 + ["open"] * 10 + ["pending"] * 5 + ["escalated"] * 3
    rng.shuffle(statuses)
    for n, status in enumerate(statuses, start=1):
        company = rng.choice(customers)
        subject, kind = rng.choice(CASE_SUBJECTS)
        priority = rng.choices(["low", "normal", "high", "urgent"], weights=[20, 50, 22, 8])[0]
        # Closed and escalated cases are past their SLA. The others have no sla_due_at: once
        # installed, case_sla_timer times them from the install (it fills sla_due_at when
        # their priority's SLA runs out), so the demo's open cases are not all overdue.
        sla_due_at = None
        if status in ("closed", "escalated"):
            opened_days = -rng.randint(2, 90) if status == "closed" else -rng.randint(1, 4)
            sla_due_at = moment(opened_days, rng.randint(7, 18) + sla_hours[priority])
        case: dict[str, Any] = {
            "_ref": f"case_{n:02d}",
            "subject": subject,
            "description": f'Reported by the customer: "{subject}" Details in the first call.',
            "status": status,
            "priority": priority,
            "type": kind,
            "origin": rng.choice(["email", "phone", "web", "chat"]),
            **({"sla_due_at": sla_due_at} if sla_due_at else {}),
            "company": {"ref": company["_ref"]},
            "person": {"ref": rng.choice(people_of[company["_ref"]])["_ref"]},
        }
        if status == "closed":
            case["closed_at"] = moment(opened_days + rng.randint(0, 2), rng.randint(8, 18))
            case["resolution"] = rng.choice(RESOLUTIONS)
        company_won = [d for d in won if d["company"]["ref"] == company["_ref"]]
        if company_won and rng.random() < 0.5:
            case["deal"] = {"ref": company_won[0]["_ref"]}
        cases.append(case)
    out.write(12, "cases", "case", cases)

    # -- activities: 35 tasks, 25 calls, 20 meetings, 20 notes
    def about() -> dict[str, Any]:
        """The records an activity is about: a deal (its company and contact), or a case."""
        if rng.random() < 0.7:
            deal = rng.choice(deals)
            return {"company": deal["company"], "person": deal["contact"], "deal": {"ref": deal["_ref"]}}
        case = rng.choice(cases)
        return {"company": case["company"], "person": case["person"], "case": {"ref": case["_ref"]}}

    tasks = []
    for _ in range(35):
        links = about()
        what = "Follow up on" if "deal" in links else "Check back on"
        status = rng.choices(
            ["not_started", "in_progress", "completed", "deferred"], weights=[40, 20, 35, 5]
        )[0]
        tasks.append(
            {
                "subject": f"{what} {rng.choice(TASK_TOPICS)}",
                "status": status,
                "priority": rng.choices(["low", "normal", "high"], weights=[25, 55, 20])[0],
                "due_date": day(rng.randint(-30, -1) if status == "completed" else rng.randint(-5, 30)),
                **links,
            }
        )
    out.write(13, "tasks", "task", tasks)
    calls = []
    for _ in range(25):
        links = about()
        outcome = rng.choices(["connected", "left_voicemail", "no_answer", "busy"], weights=[60, 20, 15, 5])[
            0
        ]
        calls.append(
            {
                "subject": rng.choice(
                    ["Discovery call", "Pricing discussion", "Check-in", "Support call", "Renewal call"]
                ),
                "direction": rng.choice(["inbound", "outbound"]),
                "called_at": moment(-rng.randint(0, 60), rng.randint(8, 17), rng.choice([0, 15, 30, 45])),
                "duration_minutes": rng.randint(5, 45) if outcome == "connected" else rng.randint(0, 2),
                "outcome": outcome,
                "notes": "Spoke about needs and timing." if outcome == "connected" else "No conversation.",
                **links,
            }
        )
    out.write(14, "calls", "call", calls)
    meetings = []
    for _ in range(20):
        links = about()
        offset, hour = rng.randint(-45, 30), rng.randint(8, 16)
        online = rng.random() < 0.6
        meetings.append(
            {
                "subject": rng.choice(
                    ["Product demo", "Kick-off", "Quarterly business review", "Workshop", "Contract review"]
                ),
                "starts_at": moment(offset, hour),
                "ends_at": moment(offset, hour + 1),
                "location": "Video call" if online else "Customer office",
                **(
                    {"meeting_url": f"https://meet.example.com/{rng.randint(100000, 999999)}"}
                    if online
                    else {}
                ),
                **links,
            }
        )
    out.write(15, "meetings", "meeting", meetings)
    notes = []
    for _ in range(20):
        links = about()
        notes.append(
            {
                "title": rng.choice(
                    ["Call summary", "Decision makers", "Requirements", "Competition", "Budget"]
                ),
                "body": rng.choice(
                    [
                        "Budget approved for next quarter; the CFO signs above 50k.",
                        "They compare us with two other vendors; price is not the main criterion.",
                        "Needs SSO and an ERP integration before rolling out to all teams.",
                        "Main contact is leaving in March; meet the successor soon.",
                        "Very happy with support so far; open to a case study.",
                    ]
                ),
                **links,
            }
        )
    out.write(16, "notes", "note", notes)

    # -- knowledge articles (bodies span lines: written as blocks)
    articles = [
        (
            "Resetting your password",
            ["how_to", "security"],
            True,
            '1. Open the login page and choose "Forgot password".\n'
            "2. Enter your work email.\n"
            "3. Follow the link in the email within 30 minutes.\n\n"
            "Still blocked? Your admin can send a new invitation.",
        ),
        (
            "Exporting contacts to CSV",
            ["how_to"],
            True,
            "Open People, filter the list you need, then choose Export.\n"
            "The file holds every visible column, in UTF-8.",
        ),
        (
            "Configuring single sign-on with Azure AD",
            ["integrations", "security"],
            True,
            "Create an enterprise application in Azure AD, set the reply URL shown in Settings > SSO,\n"
            "then paste the metadata URL back into Tessera. Test with a second browser before enforcing SSO.",
        ),
        (
            "Why are emails not synchronised?",
            ["troubleshooting", "integrations"],
            True,
            "Check that the mailbox connection is still authorised (tokens expire after 90 days),\n"
            "and that the sender is not on the exclusion list.",
        ),
        (
            "Understanding your invoice",
            ["billing", "faq"],
            True,
            "Invoices are issued at the start of each billing period.\n"
            "Seats added during a period are billed pro rata on the next invoice.",
        ),
        (
            "Onboarding checklist for new customers",
            ["onboarding"],
            False,
            "Kick-off call, admin training, data import, integrations, end-user training, go-live review.",
        ),
    ]
    out.write(
        17,
        "knowledge_articles",
        "knowledge_article",
        [{"title": t, "body": b, "published": p, "tags": tags} for t, tags, p, b in articles],
    )

    # -- segments: saved filters
    out.write(
        18,
        "segments",
        "segment",
        [
            {
                "name": "Software decision makers",
                "object_api_name": "person",
                "criteria": {
                    "company": {"industry": {"in": ["saas", "software"]}, "employees": {"gte": 200}},
                    "do_not_contact": {"neq": True},
                },
                "description": "People at software companies of 200+ employees who may be contacted.",
            },
            {
                "name": "Customers in France",
                "object_api_name": "company",
                "criteria": {"relationship": {"eq": "customer"}, "country": {"eq": "FR"}},
            },
            {
                "name": "Summit attendees",
                "object_api_name": "person",
                "criteria": {
                    "campaign_memberships": {
                        "some": {
                            "status": {"eq": "attended"},
                            "campaign": {"name": {"eq": "Customer Summit 2026"}},
                        }
                    }
                },
            },
        ],
    )

    for obj, count in out.counts.items():
        print(f"{obj:22} {count}")


if __name__ == "__main__":
    main()
