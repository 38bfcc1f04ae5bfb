"""The console in a real headless Chromium, against `tessera serve`."""

from __future__ import annotations

import re
from typing import Any

import httpx2 as httpx

from tests.console.conftest import ConsoleServer, screenshot, sign_in


def test_a_wrong_password_is_refused_and_the_right_one_signs_in(page: Any, console_server: ConsoleServer):
    page.goto("/")
    screenshot(page, "sign-in")
    page.get_by_label("Email").fill(console_server.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").filter(has_text="LOGIN_FAILED").wait_for()
    sign_in(page, console_server.email, console_server.password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Companies").wait_for()
    screenshot(page, "home")
    page.reload()  # the session survives a reload
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()


def add_field(page: Any, label: str, field_type: str, fill: Any = None) -> None:
    page.get_by_role("button", name="Add field").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Field label").fill(label)
    dialog.get_by_label("Field type").select_option(field_type)
    if fill is not None:
        fill(dialog)
    dialog.get_by_role("button", name="Save field").click()
    dialog.wait_for(state="hidden")


def test_an_admin_models_and_automates_and_a_user_sees_the_effect(
    page: Any, chromium: Any, console_server: ConsoleServer
):
    """The issue's scenario: an object with a lookup and a select field, a workflow that sets
    a field when a record is created, a user creating a record and seeing the workflow's
    effect; on the way, a wrong name is shown next to its input."""
    sign_in(page, console_server.email, console_server.password)
    page.goto("/#/admin/objects")
    page.get_by_role("link", name="New object").click()
    page.get_by_label("Label", exact=True).fill("Project")
    page.get_by_label("API name", exact=True).fill("Bad Name")
    page.get_by_role("button", name="Create object").click()
    error = page.locator('[data-field="apiName"] .field-error')
    error.wait_for()
    assert "snake_case" in error.inner_text()
    screenshot(page, "object-error")

    page.get_by_label("API name", exact=True).fill("project")
    page.get_by_role("button", name="Create object").click()
    page.get_by_role("heading", name="Project").wait_for()
    add_field(page, "Title", "text")

    page.get_by_role("button", name="Add field").click()  # a field name the server refuses
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Field label").fill("Due")
    dialog.get_by_label("Field API name").fill("Due Date")
    dialog.get_by_label("Field type").select_option("date")
    dialog.get_by_role("button", name="Save field").click()
    field_error = dialog.locator('[data-field="apiName"] .field-error')
    field_error.wait_for()
    assert "snake_case" in field_error.inner_text()
    screenshot(page, "field-error")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    def two_options(dialog: Any) -> None:
        for i, value in enumerate(("planned", "stamped")):
            dialog.get_by_role("button", name="Add option").click()
            dialog.get_by_label("Option value").nth(i).fill(value)
            dialog.get_by_label("Option label").nth(i).fill(value.capitalize())

    add_field(page, "Stage", "select", two_options)
    add_field(page, "Client", "lookup", lambda d: d.get_by_label("Target object").select_option("company"))
    fields = page.get_by_role("table").first
    for name in ("title", "stage", "client"):
        fields.get_by_role("cell", name=name, exact=True).wait_for()
    screenshot(page, "object-editor")

    # A workflow: when a project is created, its stage becomes "stamped".
    page.get_by_role("link", name="Workflows", exact=True).click()
    page.get_by_role("button", name="New workflow").click()
    page.get_by_label("Name", exact=True).fill("stamp_new_projects")
    page.get_by_label("Trigger", exact=True).select_option("record_created")
    page.get_by_label("Object", exact=True).select_option("project")
    page.get_by_label("Step type", exact=True).select_option("update_record")
    page.get_by_role("button", name="Add step", exact=True).click()
    page.get_by_role("button", name="Step 1 Add value").click()
    page.get_by_label("Step 1 Field 1").select_option("stage")
    page.get_by_label("Step 1 Value 1").fill("stamped")
    page.get_by_role("button", name="Validate").click()
    page.get_by_role("status").filter(has_text="Valid").wait_for()
    page.get_by_role("button", name="Activate", exact=True).click()
    page.get_by_role("status").filter(has_text="is active").wait_for()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "workflow-builder")

    # A user (a member: records, not the data model) creates a project and sees its stage.
    user = httpx.post(
        f"{console_server.url}/graphql/metadata",
        json={"query": CREATE_USER},
        headers={"Authorization": f"Bearer {console_server.api_key}"},
    ).json()
    assert "errors" not in user, user
    context = chromium.new_context(viewport={"width": 1366, "height": 820}, base_url=console_server.url)
    member = context.new_page()
    member.set_default_timeout(10_000)
    try:
        sign_in(member, "mia@example.com", "a long password 1")
        member.get_by_role("navigation", name="Main").get_by_role("link", name="Projects").click()
        member.get_by_role("link", name="New Project").click()
        member.get_by_label("Title", exact=True).fill("Website relaunch")
        member.get_by_role("button", name="Save").click()
        member.get_by_role("heading", name="Website relaunch").wait_for()
        for _ in range(50):  # the in-process worker runs the workflow just after the commit
            if member.get_by_text("Stamped", exact=True).count():
                break
            member.wait_for_timeout(200)
            member.reload()
            member.get_by_role("heading", name="Website relaunch").wait_for()
        member.get_by_text("Stamped", exact=True).first.wait_for()
        screenshot(member, "record-page")
        member.goto("/#/records/project")
        member.get_by_role("link", name="Website relaunch").wait_for()
        member.wait_for_function("!document.querySelector('.loading')")
        screenshot(member, "record-list")
    finally:
        context.close()


CREATE_USER = (
    'mutation { createUser(email: "mia@example.com", password: "a long password 1", role: "member") '
    "{ email } }"
)


SCREENS = {
    "workflows": ("/#/admin/workflows", "Workflows"),
    "workflow-runs": ("/#/admin/runs", "Workflow runs"),
    "packages": ("/#/admin/packages", "Packages"),
    "access": ("/#/admin/access", "Users, roles and API keys"),
    "data-model": ("/#/admin/objects", "Data model"),
    "companies": ("/#/records/company", "Companies"),
    "search": ("/#/search?q=north", "Search"),
}


def test_every_main_screen_opens_without_errors(page: Any, console_server: ConsoleServer):
    sign_in(page, console_server.email, console_server.password)
    for name, (address, heading) in SCREENS.items():
        page.goto(address)
        page.get_by_role("heading", level=1).filter(has_text=heading).first.wait_for()
        page.wait_for_function("!document.querySelector('.loading')")  # the screen's data came
        assert not page.get_by_role("alert").count(), f"{name}: {page.get_by_role('alert').all_inner_texts()}"
        screenshot(page, name)


def test_the_keyboard_reaches_the_sign_in_and_a_dialog(page: Any, console_server: ConsoleServer):
    page.goto("/")
    page.get_by_label("Email").focus()
    page.keyboard.type(console_server.email)
    page.keyboard.press("Tab")
    page.keyboard.type(console_server.password)
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Sign out").wait_for()
    page.goto("/#/admin/objects/company")
    add = page.get_by_role("button", name="Add field")
    add.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Field label").wait_for()
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")


def test_run_history_saved_views_and_packages(page: Any, console_server: ConsoleServer):
    """After the scenario: the workflow's run and its step output in the run history; a saved
    view narrows a list; the installed packages are listed."""
    sign_in(page, console_server.email, console_server.password)
    page.goto("/#/admin/runs")
    runs = page.get_by_role("row").filter(has_text="stamp_new_projects")
    runs.first.wait_for()
    assert "succeeded" in runs.first.inner_text()
    runs.first.get_by_role("link").first.click()
    page.get_by_text('"stamped"').first.wait_for()  # the update step's output
    screenshot(page, "workflow-run")

    page.goto("/#/records/case")
    page.wait_for_function("!document.querySelector('.loading')")
    every = page.get_by_text(re.compile(r"of 50$")).first
    every.wait_for()
    page.get_by_label("View").select_option("urgent_cases")
    page.wait_for_function("!document.querySelector('.loading')")
    page.wait_for_function("!/of 50$/.test(document.querySelector('main').innerText)")
    screenshot(page, "saved-view")

    page.goto("/#/admin/packages")
    page.get_by_role("rowheader", name="standard-crm", exact=True).wait_for()
