"""From a `ui.click`/`ui.input` breadcrumb's selector path to a Playwright locator.

The browser SDK describes the target element with `htmlTreeAsString`: up to five ancestors joined
by ` > `, each written `tag#id.class1.class2` plus the attributes `aria-label`, `type`, `name`,
`title` and `alt` as `[k="v"]` (or only the `serializeAttribute` ones, such as `data-testid`), and
never the element's text. Values are not escaped, so the parser tolerates quotes inside them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from triagebot.spec import Locator

VALUE_MAX = 1024
# Attributes that teams use as test ids besides the configured one; all are as stable as data-testid.
TEST_ID_ATTRIBUTES = ("data-testid", "data-test-id", "data-test", "data-cy", "data-qa", "data-pw")
IDENT = re.compile(r"-?[A-Za-z_][A-Za-z0-9_-]*")
TAG = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
COMPONENT = re.compile(r"[A-Z][A-Za-z0-9_]*")

# Attributes worth keeping in a CSS path: the SDK's own list plus the component annotation.
KEPT_ATTRIBUTES = ("type", "name", "aria-label", "title", "alt", "data-sentry-component")
# Classes that a CSS-in-JS library, CSS modules or a framework generated: they change on rebuilds.
HASHED_CLASS = re.compile(
    r"""^(?:
        (?:css|sc|jsx|emotion|svelte|astro|styled|tw|jss)-.*     # css-1x2y3z, sc-bdVaJa, svelte-1abcd
      | e[0-9][a-z0-9]{3,}                                          # emotion label classes: e1kpcezi0
      | jss[0-9]+                                                   # JSS
      | .*-[0-9]+                                                   # makeStyles-root-12, ng-tns-c12-3
      | .*__[A-Za-z0-9_-]{5}                                        # CSS modules: Button_primary__3xYz1
      | ng-.*                                                       # Angular: ng-untouched, ng-tns-c1
    )$""",
    re.VERBOSE,
)
# Classes that describe a transient state rather than the element.
STATE_CLASS = re.compile(
    r"^(?:active|selected|focus(?:ed)?|hover(?:ed)?|disabled|open|opened|show|shown|visible|"
    r"hidden|checked|loading|(?:is|has)-.+)$"
)
# Ids that a framework numbered or hashed: ember123, :r1:, mui-42, react-select-3-input, uuids.
UNSTABLE_ID = re.compile(r"[:]|^(?:ember|ext-gen|yui_|mui-|radix-|headlessui-)|[0-9]{3,}|-[0-9]+(?:-|$)")

# Roles implied by a tag (and, for inputs, its type), as Playwright's getByRole sees them.
INPUT_ROLES = {
    "button": "button",
    "submit": "button",
    "reset": "button",
    "image": "button",
    "checkbox": "checkbox",
    "radio": "radio",
    "range": "slider",
    "number": "spinbutton",
    "search": "searchbox",
    "text": "textbox",
    "email": "textbox",
    "tel": "textbox",
    "url": "textbox",
}
TAG_ROLES = {
    "button": "button",
    "a": "link",
    "select": "combobox",
    "textarea": "textbox",
    "img": "img",
    "nav": "navigation",
    "summary": "button",
    "option": "option",
    **{f"h{level}": "heading" for level in range(1, 7)},
}
BUTTON_TYPES = ("button", "submit", "reset", "image")
# Elements whose accessible name comes from their content, so `title` is not their name.
CONTENT_NAMED = frozenset({"button", "a", "summary", "option", "h1", "h2", "h3", "h4", "h5", "h6"})


@dataclass(frozen=True)
class Element:
    """One element of a breadcrumb's selector path."""

    tag: str | None = None
    id: str | None = None
    classes: tuple[str, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def shares_name(self) -> bool:
        """Say whether the element's `name` is usually shared: a radio group's, or a button's repeated
        in every row of a list, so `[name=..]` alone would match several elements."""
        kind = self.attributes.get("type", "").lower()
        return self.tag == "button" or (self.tag == "input" and kind in ("radio", "checkbox", *BUTTON_TYPES))

    @property
    def role(self) -> str | None:
        """Return the ARIA role the tag implies, if any."""
        if self.tag == "input":
            return INPUT_ROLES.get(self.attributes.get("type", "text").lower())
        return TAG_ROLES.get(self.tag or "")


def parse_selector(text: str) -> list[Element]:
    """Split a breadcrumb selector path into elements, outermost first."""
    return [element for part in _split_path(text) if (element := _parse_element(part.strip()))]


def _split_path(text: str) -> list[str]:
    """Split on ` > ` outside attribute brackets (values may hold ` > ` themselves)."""
    parts, depth, start, index = [], False, 0, 0
    while index < len(text):
        if not depth and text.startswith("[", index):
            depth = True
        elif depth and text.startswith('"]', index):
            depth, index = False, index + 1
        elif depth and text[index] == "]" and text[index - 1] != '"' and '="' not in text[start:index]:
            depth = False
        elif not depth and text.startswith(" > ", index):
            parts.append(text[start:index])
            start, index = index + 3, index + 3
            continue
        index += 1
    parts.append(text[start:])
    return parts


def _parse_element(text: str) -> Element | None:
    if COMPONENT.fullmatch(text):
        # The component-annotation build plugin writes the component's name instead of the element.
        return Element(attributes={"data-sentry-component": text})
    tag = TAG.match(text)
    position = tag.end() if tag else 0
    element_id, classes, attributes = None, [], {}
    while position < len(text):
        char = text[position]
        if char in "#.":
            name = IDENT.match(text, position + 1)
            end = name.end() if name else _next_marker(text, position + 1)
            value = text[position + 1 : end]
            if char == "#":
                element_id = value
            elif value:
                classes.append(value)
            position = max(end, position + 1)
        elif char == "[":
            match = re.compile(r'\[([^\]=\s"]+)="').match(text, position)
            if not match:
                break
            end = text.find('"]', match.end())
            if end < 0:
                break
            attributes[match.group(1).lower()] = text[match.end() : end]
            position = end + 2
        else:
            break
    if not (tag or element_id or classes or attributes):
        return None
    return Element(tag.group(0).lower() if tag else None, element_id, tuple(classes), attributes)


def _next_marker(text: str, start: int) -> int:
    ends = [i for i in (text.find(m, start) for m in ("#", ".", "[")) if i >= 0]
    return min(ends) if ends else len(text)


def choose_locator(
    elements: list[Element], *, selector: str, test_id_attribute: str = "data-testid"
) -> Locator | None:
    """Pick the most stable locator for the last element, best strategy first."""
    if not elements:
        return None
    target, source = elements[-1], selector[:2048]
    for attribute in (test_id_attribute, *TEST_ID_ATTRIBUTES):
        if target.attributes.get(attribute):
            value = _clip(target.attributes[attribute])
            return Locator(strategy="testid", value=value, attribute=attribute, source=source)
    role_name = _role_name(target)
    if role_name:
        role, name = role_name
        return Locator(strategy="role", value=role, name=name, source=source)
    if target.attributes.get("aria-label"):
        return Locator(strategy="label", value=_clip(target.attributes["aria-label"]), source=source)
    if target.attributes.get("name") and not target.shares_name:
        return Locator(strategy="name", value=_clip(target.attributes["name"]), source=source)
    if target.id and not UNSTABLE_ID.search(target.id):
        return Locator(strategy="css", value=_clip(css_compound(target, id_only=True)), source=source)
    if target.attributes.get("data-sentry-component"):
        value = component_selector(target.attributes["data-sentry-component"])
        return Locator(strategy="css", value=_clip(value), source=source)
    for attribute in ("title", "alt"):
        if target.attributes.get(attribute):
            value = f"{target.tag or ''}[{attribute}={css_string(target.attributes[attribute])}]"
            return Locator(strategy="css", value=_clip(value), source=source)
    path = " > ".join(css_compound(element) for element in elements)
    return Locator(strategy="css", value=_clip(path), weak=True, source=source)


def link_locators(locator: Locator, path: str) -> list[Locator]:
    """The clicked link (or an element inside one) as the one whose `href` is `path`, where it went.

    A nav bar or a table repeats the same link markup, and breadcrumbs never carry a link's text;
    the navigation that followed the click names its target. The path with its query comes first,
    then without.
    """
    elements = parse_selector(locator.source or "")
    link = next((n for n in range(len(elements) - 1, -1, -1) if elements[n].tag == "a"), None)
    if link is None:
        return []
    inside = "".join(f" > {css_compound(element)}" for element in elements[link + 1 :])
    return [
        Locator(
            strategy="css",
            value=_clip(f"{css_compound(elements[link])}[href={css_string(href)}]{inside}"),
            weak=True,
            source=locator.source,
        )
        for href in dict.fromkeys((path, path.split("?", 1)[0].split("#", 1)[0]))
    ]


def _role_name(element: Element) -> tuple[str, str] | None:
    """Return (role, accessible name) when the tag implies a role and an attribute names it."""
    role = element.role
    if role is None:
        return None
    for attribute in ("aria-label", "alt", "title"):
        name = element.attributes.get(attribute)
        if not name or (attribute == "title" and element.tag in CONTENT_NAMED):
            # A button's or link's text, which breadcrumbs never carry, outranks its title.
            continue
        if attribute == "alt" and not (element.tag == "img" or element.attributes.get("type") == "image"):
            continue
        return role, _clip(name)
    return None


def css_compound(element: Element, *, id_only: bool = False, any_id: bool = False) -> str:
    """Write one element as a CSS compound selector, leaving out generated ids (unless `any_id`:
    a numbered id such as `book-413` may name a record rather than a render) and classes."""
    tag = element.tag if element.tag and TAG.fullmatch(element.tag) else ""
    if element.id and (any_id or not UNSTABLE_ID.search(element.id)):
        stable_id = f"#{element.id}" if IDENT.fullmatch(element.id) else f"[id={css_string(element.id)}]"
        if id_only:
            return f"{tag}{stable_id}"
    else:
        stable_id = ""
    classes = "".join(
        f".{name}"
        for name in element.classes
        if IDENT.fullmatch(name) and not HASHED_CLASS.match(name) and not STATE_CLASS.match(name)
    )
    attributes = "".join(
        component_selector(value) if key == "data-sentry-component" else f"[{key}={css_string(value)}]"
        for key, value in element.attributes.items()
        if key in (*TEST_ID_ATTRIBUTES, *KEPT_ATTRIBUTES)
    )
    return f"{tag}{stable_id}{classes}{attributes}" or "*"


def component_selector(name: str) -> str:
    """The element a component annotation names: the bundler plugin marks a component's root with
    `data-sentry-component` and the elements inside it with `data-sentry-element`, and the SDK writes
    either one's value alone."""
    quoted = css_string(name)
    return f":is([data-sentry-component={quoted}], [data-sentry-element={quoted}])"


def css_string(value: str) -> str:
    """Quote a value as a CSS string: backslash, quote and control characters escaped."""
    escaped = "".join(
        f"\\{ord(ch):x} " if ord(ch) < 0x20 or ord(ch) == 0x7F else "\\" + ch if ch in '"\\' else ch
        for ch in value
    )
    return f'"{escaped}"'


def synthetic_value(element: Element) -> str:
    """Make up an input value from the field's type and name; events never carry typed text."""
    kind = element.attributes.get("type", "").lower()
    hint = " ".join(
        [element.attributes.get("name", ""), element.id or "", element.attributes.get("aria-label", "")]
    ).lower()
    by_type = {
        "email": "qa@example.com",
        "password": "Regression-Test-1",
        "number": "1",
        "range": "1",
        "tel": "+15555550100",
        "url": "https://example.com/",
        "date": "2024-01-15",
        "datetime-local": "2024-01-15T10:30",
        "time": "10:30",
        "month": "2024-01",
        "week": "2024-W03",
        "color": "#336699",
    }
    if kind in by_type:
        return by_type[kind]
    for words, value in (
        (("email", "e-mail"), "qa@example.com"),
        (("phone", "tel", "mobile"), "+15555550100"),
        (("zip", "postal", "postcode"), "12345"),
        (("qty", "quantity", "amount", "count", "age"), "1"),
        (("url", "website"), "https://example.com/"),
        (("name",), "Test User"),
        (("search", "query"), "test"),
    ):
        if any(word in hint for word in words):
            return value
    return "test"


def _clip(value: str) -> str:
    return value[:VALUE_MAX]
