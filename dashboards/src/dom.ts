// A tiny element builder: the dashboard renders a handful of panels, which
// does not earn a framework.

export type Child = Node | string | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

/** Replaces an element's content. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/**
 * Marks a panel's state for styles, screen readers and tests: loading, ready,
 * empty, error (this request failed), or unavailable (the service is down,
 * which the page tells once).
 */
export function setPanelState(panel: HTMLElement, state: "loading" | "ready" | "empty" | "error" | "unavailable"): void {
  panel.dataset.state = state;
  panel.setAttribute("aria-busy", String(state === "loading"));
}
