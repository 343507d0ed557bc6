// @ts-check
// Finding the page's elements, and keeping the keyboard focus somewhere sensible.

/**
 * The element with this id, checked to be of the expected kind (a missing element is a
 * template error, reported at once rather than as a null somewhere later).
 * @template {Element} T
 * @param {string} id
 * @param {{new (): T, prototype: T}} type
 * @returns {T}
 */
export function byId(id, type) {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
  return found;
}

/**
 * Move the focus to `element` when it is nowhere useful: on the body, or inside
 * something that was just hidden.
 * @param {HTMLElement} element
 */
export function focusIfLost(element) {
  const active = document.activeElement;
  if (!active || active === document.body || active.closest('[hidden]')) element.focus();
}
